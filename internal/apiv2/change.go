package apiv2

import (
	"net/http"

	"tourd/internal/feed"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// familyCapability is the capability that reads a family of changes
// (webhooks.md §4).
var familyCapability = map[string]userdata.Capability{
	"user":          "user:read",
	"event.tracked": "user:read",
	"company":       "company:read",
	"membership":    "company:read",
}

// listChanges serves GET E/changes: the environment's feed, of the types
// asked for, each family of which needs its capability (403 E1012), or,
// without types, of the families the token may read (403 E1012 if none).
func (a *api) listChanges(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	req, err := feed.Parse(q)
	if err != nil {
		return 0, nil, err
	}
	if req.TypesGiven {
		for _, fam := range req.Query.Types.Families() {
			if c := familyCapability[fam]; !rq.p.Can(c) {
				return 0, nil, userdata.Errorf(userdata.CodeMissingCapability, "The token lacks the capability that reads %s changes: %s", fam, c)
			}
		}
	} else {
		var fams []string
		for _, fam := range userdata.AllChanges.Families() {
			if rq.p.Can(familyCapability[fam]) {
				fams = append(fams, fam)
			}
		}
		if fams == nil {
			return 0, nil, userdata.Errorf(userdata.CodeMissingCapability, "The token lacks the capabilities that read changes: user:read or company:read")
		}
		req.Query.Types = userdata.FamiliesFilter(fams)
	}
	page, err := feed.Read(rq.Context(), a.store, rq.env.ID, req, a.srv.LongPoll(rq.w))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, page, nil
}
