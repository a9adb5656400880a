package httpapi

import (
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// scopeFilter maps the scope parameter's values. The reference also lets
// the other object-type words through and filters them as user (§7.10).
var scopeFilter = map[string]userdata.Scope{
	"user":                 userdata.ScopeUser,
	"company":              userdata.ScopeCompany,
	"companyMembership":    userdata.ScopeMembership,
	"eventDefinition":      userdata.ScopeEvent,
	"content":              userdata.ScopeUser,
	"contentVersion":       userdata.ScopeUser,
	"contentSession":       userdata.ScopeUser,
	"attributeDefinition":  userdata.ScopeUser,
	"contentSessionAnswer": userdata.ScopeUser,
	"question":             userdata.ScopeUser,
}

func (s *Server) listAttributeDefinitions(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.AttributeDefinitionFilter
	if f.PageRequest, err = q.Page(wire.DefinitionOrder, wire.DefinitionOrderNames, wire.DefinitionOrder["displayName"]); err != nil {
		return 0, nil, err
	}
	scope, present, err := q.Single("scope")
	if err != nil {
		return 0, nil, err
	}
	if present {
		var ok bool
		if f.Scope, ok = scopeFilter[scope]; !ok {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "scope must be one of the following values: user, company, companyMembership, eventDefinition")
		}
	}
	if f.EventNames, err = q.List("eventName", false); err != nil {
		return 0, nil, err
	}
	l, err := s.store.ListAttributeDefinitions(r.Context(), t, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.NewList(r, q, wire.MapItems(l.Items, wire.NewAttributeDefinition), l, f.Limit, false), nil
}

func (s *Server) listEventDefinitions(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.EventDefinitionFilter
	if f.PageRequest, err = q.Page(wire.DefinitionOrder, wire.DefinitionOrderNames, wire.DefinitionOrder["createdAt"]); err != nil {
		return 0, nil, err
	}
	l, err := s.store.ListEventDefinitions(r.Context(), t, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.NewList(r, q, wire.MapItems(l.Items, wire.NewEventDefinition), l, f.Limit, false), nil
}
