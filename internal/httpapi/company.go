package httpapi

import (
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

func (s *Server) upsertCompany(r *http.Request, t userdata.Tenant) (int, any, error) {
	body, err := wire.ReadBody(r)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeCompanyUpsert(body)
	if err != nil {
		return 0, nil, err
	}
	c, created, err := s.store.UpsertCompany(r.Context(), t, in)
	if err != nil {
		return 0, nil, err
	}
	jc := wire.NewCompany(c)
	return createdStatus(created), &jc, nil
}

func (s *Server) getCompany(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, id, err := pathAndQuery(r)
	if err != nil {
		return 0, nil, err
	}
	x, err := q.Expand(wire.CompanyExpand, wire.CompanyExpandNames)
	if err != nil {
		return 0, nil, err
	}
	c, err := s.store.GetCompany(r.Context(), t, id, x)
	if err != nil {
		return 0, nil, err
	}
	jc := wire.NewCompany(c)
	return http.StatusOK, &jc, nil
}

func (s *Server) deleteCompany(r *http.Request, t userdata.Tenant) (int, any, error) {
	_, id, err := pathAndQuery(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.store.DeleteCompany(r.Context(), t, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deletedJSON{id, "company", true}, nil
}

func (s *Server) listCompanies(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.CompanyFilter
	if f.PageRequest, err = q.Page(wire.CreatedAtOrder, wire.CreatedAtOrderNames, wire.CreatedAtOrder["createdAt"]); err != nil {
		return 0, nil, err
	}
	if f.Expand, err = q.Expand(wire.CompanyExpand, wire.CompanyExpandNames); err != nil {
		return 0, nil, err
	}
	l, err := s.store.ListCompanies(r.Context(), t, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.NewList(r, q, wire.MapItems(l.Items, wire.NewCompany), l, f.Limit, true), nil
}

func (s *Server) deleteMembership(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	ids := [2]string{}
	for i, name := range []string{"userId", "companyId"} {
		v, _, err := q.Single(name)
		if err != nil {
			return 0, nil, err
		}
		if v == "" {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "%s must be a non-empty string", name)
		}
		if len(v) > userdata.MaxIDBytes {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "%s must be at most %d bytes", name, userdata.MaxIDBytes)
		}
		ids[i] = v
	}
	id, err := s.store.DeleteMembership(r.Context(), t, ids[0], ids[1])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deletedJSON{id, "companyMembership", true}, nil
}
