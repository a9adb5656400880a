package httpapi

import (
	"net/http"
	"strings"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

func (s *Server) upsertUser(r *http.Request, t userdata.Tenant) (int, any, error) {
	body, err := wire.ReadBody(r)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeUserUpsert(body)
	if err != nil {
		return 0, nil, err
	}
	u, created, err := s.store.UpsertUser(r.Context(), t, in)
	if err != nil {
		return 0, nil, err
	}
	ju := wire.NewUser(u)
	return createdStatus(created), &ju, nil
}

func (s *Server) getUser(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, id, err := pathAndQuery(r)
	if err != nil {
		return 0, nil, err
	}
	x, err := q.Expand(wire.UserExpand, wire.UserExpandNames)
	if err != nil {
		return 0, nil, err
	}
	u, err := s.store.GetUser(r.Context(), t, id, x)
	if err != nil {
		return 0, nil, err
	}
	ju := wire.NewUser(u)
	return http.StatusOK, &ju, nil
}

func (s *Server) deleteUser(r *http.Request, t userdata.Tenant) (int, any, error) {
	_, id, err := pathAndQuery(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.store.DeleteUser(r.Context(), t, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deletedJSON{id, "user", true}, nil
}

func (s *Server) listUsers(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.UserFilter
	if f.PageRequest, err = q.Page(wire.CreatedAtOrder, wire.CreatedAtOrderNames, wire.CreatedAtOrder["createdAt"]); err != nil {
		return 0, nil, err
	}
	if f.Expand, err = q.Expand(wire.UserExpand, wire.UserExpandNames); err != nil {
		return 0, nil, err
	}
	if f.Email, err = q.Email(); err != nil {
		return 0, nil, err
	}
	if f.CompanyID, _, err = q.Single("companyId"); err != nil {
		return 0, nil, err
	}
	if err := s.segmentFilter(r, t, q, &f); err != nil {
		return 0, nil, err
	}
	l, err := s.store.ListUsers(r.Context(), t, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.NewList(r, q, wire.MapItems(l.Items, wire.NewUser), l, f.Limit, true), nil
}

// segmentFilter reads segmentId (§7.1) into f: the user segment of the
// key's project it names. An empty one, an unknown one, another
// project's or a company segment filters nothing (v1's rule, D6).
func (s *Server) segmentFilter(r *http.Request, t userdata.Tenant, q wire.Query, f *userdata.UserFilter) error {
	id, _, err := q.Single("segmentId")
	if err != nil || id == "" {
		return err
	}
	sg, err := s.store.GetSegment(r.Context(), t.ProjectID, id)
	if userdata.IsNotFound(err, userdata.ResourceSegment) {
		return nil
	}
	if err == nil && sg.BizType == userdata.ScopeUser {
		f.Segment = sg
	}
	return err
}

// deletedJSON confirms a delete (§6.7).
type deletedJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// createdStatus is 201 for a created entity and 200 for an updated one.
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// pathAndQuery parses the query and reads the {id} path value, which must
// obey the id length limit (§15.1).
func pathAndQuery(r *http.Request) (wire.Query, string, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", err
	}
	if r.PathValue("id") == "" { // a literal route such as /v1/users/import: the id is its last segment
		return q, r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:], nil
	}
	id, err := wire.PathID(r, "id")
	return q, id, err
}
