package apiv2

import (
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// The routes of users, companies and memberships (v2.md §6, §7): v1's
// store calls and wire objects, with v2's ids in the path, strict bodies,
// PUT answering 200 and DELETE 204.

// entityID reads the {id} (or another) path value of an entity route: an
// external id, which must not be blank (400 E1017).
func entityID(rq *request, name string) (string, error) {
	id, err := wire.PathID(rq.Request, name)
	if err != nil {
		return "", err
	}
	return id, userdata.ValidateID(name, id)
}

func (a *api) getUser(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	id, err := entityID(rq, "id")
	if err != nil {
		return 0, nil, err
	}
	x, err := q.Expand(wire.UserExpand, wire.UserExpandNames)
	if err != nil {
		return 0, nil, err
	}
	u, err := a.store.GetUser(rq.Context(), rq.tenant(), id, x)
	if err != nil {
		return 0, nil, err
	}
	ju := wire.NewUser(u)
	return http.StatusOK, &ju, nil
}

func (a *api) putUser(rq *request) (int, any, error) {
	id, err := entityID(rq, "id")
	if err != nil {
		return 0, nil, err
	}
	o, err := rq.object("attributes")
	if err != nil {
		return 0, nil, err
	}
	in := &userdata.UserUpsert{ExternalID: id}
	if in.Attributes, err = a.attributes(rq, o, userdata.ScopeUser); err != nil {
		return 0, nil, err
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	u, _, err := a.store.UpsertUser(rq.Context(), rq.tenant(), in)
	if err != nil {
		return 0, nil, err
	}
	ju := wire.NewUser(u)
	return http.StatusOK, &ju, nil
}

func (a *api) deleteUser(rq *request) (int, any, error) {
	id, err := entityID(rq, "id")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.DeleteUser(rq.Context(), rq.tenant(), id)
}

func (a *api) listUsers(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.UserFilter
	if f.PageRequest, err = page(q, wire.CreatedAtOrder, wire.CreatedAtOrderNames, "createdAt"); err != nil {
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
	f.RequireCompany = true
	if f.CreatedAfter, f.CreatedBefore, err = createdRange(q); err != nil {
		return 0, nil, err
	}
	if f.Audience, err = a.audience(rq, q, userdata.ScopeUser); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListUsers(rq.Context(), rq.tenant(), f)
	return listAnswer(rq, q, l, err, f.Limit, wire.NewUser)
}

func (a *api) getCompany(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	id, err := entityID(rq, "id")
	if err != nil {
		return 0, nil, err
	}
	x, err := q.Expand(wire.CompanyExpand, wire.CompanyExpandNames)
	if err != nil {
		return 0, nil, err
	}
	c, err := a.store.GetCompany(rq.Context(), rq.tenant(), id, x)
	if err != nil {
		return 0, nil, err
	}
	jc := wire.NewCompany(c)
	return http.StatusOK, &jc, nil
}

func (a *api) putCompany(rq *request) (int, any, error) {
	id, err := entityID(rq, "id")
	if err != nil {
		return 0, nil, err
	}
	o, err := rq.object("attributes")
	if err != nil {
		return 0, nil, err
	}
	in := &userdata.CompanyUpsert{ExternalID: id}
	if in.Attributes, err = a.attributes(rq, o, userdata.ScopeCompany); err != nil {
		return 0, nil, err
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	c, _, err := a.store.UpsertCompany(rq.Context(), rq.tenant(), in)
	if err != nil {
		return 0, nil, err
	}
	jc := wire.NewCompany(c)
	return http.StatusOK, &jc, nil
}

func (a *api) deleteCompany(rq *request) (int, any, error) {
	id, err := entityID(rq, "id")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.DeleteCompany(rq.Context(), rq.tenant(), id)
}

func (a *api) listCompanies(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.CompanyFilter
	if f.PageRequest, err = page(q, wire.CreatedAtOrder, wire.CreatedAtOrderNames, "createdAt"); err != nil {
		return 0, nil, err
	}
	if f.Expand, err = q.Expand(wire.CompanyExpand, wire.CompanyExpandNames); err != nil {
		return 0, nil, err
	}
	if f.CreatedAfter, f.CreatedBefore, err = createdRange(q); err != nil {
		return 0, nil, err
	}
	if f.Audience, err = a.audience(rq, q, userdata.ScopeCompany); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListCompanies(rq.Context(), rq.tenant(), f)
	return listAnswer(rq, q, l, err, f.Limit, wire.NewCompany)
}

// membershipIDs reads the company and user ids of a membership route.
func membershipIDs(rq *request) (companyID, userID string, err error) {
	if companyID, err = entityID(rq, "id"); err != nil {
		return "", "", err
	}
	userID, err = entityID(rq, "userId")
	return companyID, userID, err
}

func (a *api) putMembership(rq *request) (int, any, error) {
	companyID, userID, err := membershipIDs(rq)
	if err != nil {
		return 0, nil, err
	}
	o, err := rq.object("attributes")
	if err != nil {
		return 0, nil, err
	}
	attrs, err := a.attributes(rq, o, userdata.ScopeMembership)
	if err != nil {
		return 0, nil, err
	}
	m, err := a.store.UpsertMembership(rq.Context(), rq.tenant(), companyID, userID, attrs)
	if err != nil {
		return 0, nil, err
	}
	m.CompanyID, m.UserID = companyID, userID // the wire names both by their external ids
	jm := wire.NewMembership(m)
	return http.StatusOK, &jm, nil
}

func (a *api) deleteMembership(rq *request) (int, any, error) {
	companyID, userID, err := membershipIDs(rq)
	if err != nil {
		return 0, nil, err
	}
	_, err = a.store.DeleteMembership(rq.Context(), rq.tenant(), userID, companyID)
	return http.StatusNoContent, nil, err
}
