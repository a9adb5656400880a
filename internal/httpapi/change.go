package httpapi

import (
	"net/http"

	"tourd/internal/feed"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// listChanges serves GET /v1/changes: the feed of the key's environment
// (webhooks.md §4), every type but page_viewed unless types names them.
func (s *Server) listChanges(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	req, err := feed.Parse(q)
	if err != nil {
		return 0, nil, err
	}
	page, err := feed.Read(r.Context(), s.store, t.EnvironmentID, req, s.draining)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, page, nil
}
