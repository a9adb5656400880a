package apiv2

import (
	"encoding/json"
	"net/http"
	"time"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// page reads limit, cursor and orderBy (v2.md §6): without orderBy the
// list takes the sorts named by defaults; the id tiebreak follows the
// direction of the last sort.
func page(q wire.Query, allowed map[string]userdata.Sort, names string, defaults ...string) (userdata.PageRequest, error) {
	p, err := q.Page(allowed, names, allowed[defaults[0]])
	if err != nil {
		return p, err
	}
	if orders, _ := q.List("orderBy", true); len(orders) == 0 {
		p.Sort = p.Sort[:0]
		for _, d := range defaults {
			p.Sort = append(p.Sort, allowed[d])
		}
	}
	p.IDFollowsSort = true
	return p, nil
}

// createdRange reads createdAfter and createdBefore (v2.md §6).
func createdRange(q wire.Query) (after, before *time.Time, err error) {
	bound := func(name string, isBefore bool) (*time.Time, error) {
		v, present, err := q.Single(name)
		if err != nil || !present {
			return nil, err
		}
		t, err := userdata.ParseCreatedBound(v, isBefore)
		return &t, err
	}
	if after, err = bound("createdAfter", false); err != nil {
		return nil, nil, err
	}
	before, err = bound("createdBefore", true)
	return after, before, err
}

// audience reads segmentId and conditions, the last filters of a list of
// bizType biz to be checked (segments.md §4, §6): an empty value of either
// is no filter; conditions must be a tree of segment conditions that the
// project's definitions validate (400 E1017); then a segmentId that is no
// segment of the project is 404 E1025, one of the other bizType 400 E1017.
func (a *api) audience(rq *request, q wire.Query, biz userdata.Scope) (userdata.Audience, error) {
	var au userdata.Audience
	id, _, err := q.Single("segmentId")
	if err != nil {
		return au, err
	}
	raw, _, err := q.Single("conditions")
	if err != nil {
		return au, err
	}
	if raw != "" {
		if au.Conditions, err = a.conditions(rq, json.RawMessage(raw)); err != nil {
			return au, err
		}
	}
	if id == "" {
		return au, nil
	}
	if au.Segment, err = a.store.GetSegment(rq.Context(), rq.projectID, id); err != nil {
		return au, err
	}
	if sg := au.Segment; sg.BizType != biz {
		list := "companies"
		if biz == userdata.ScopeUser {
			list = "users"
		}
		return au, userdata.Errorf(userdata.CodeInvalid, "segment %s is a %s segment; the %s list takes a %s segment", sg.ID, sg.BizType, list, biz)
	}
	return au, nil
}

// listAnswer answers a page of a list: a cursor that selects nothing is
// an empty page on v2, not v1's 400 E1007.
func listAnswer[T, W any](rq *request, q wire.Query, l *userdata.List[T], err error, limit int, f func(T) W) (int, any, error) {
	if userdata.ErrorCode(err) == userdata.CodeInvalidCursor {
		return http.StatusOK, wire.EmptyPage(), nil
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.NewPage(rq.Request, q, wire.MapItems(l.Items, f), l, limit), nil
}
