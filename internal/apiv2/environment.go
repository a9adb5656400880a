package apiv2

import (
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// The routes of a project's environments (v2.md §9).

// environmentJSON is an environment object (v2.md §2): its SDK token is
// withheld (null) when the caller's token may not act on it.
type environmentJSON struct {
	ID           string  `json:"id"`
	Object       string  `json:"object"`
	Name         string  `json:"name"`
	IsPrimary    bool    `json:"isPrimary"`
	Token        *string `json:"token"`
	InTokenScope bool    `json:"inTokenScope"`
	CreatedAt    string  `json:"createdAt"`
	UpdatedAt    string  `json:"updatedAt"`
}

// newEnvironment returns the wire form of e for the caller p.
func newEnvironment(p userdata.Principal, e *userdata.Environment) environmentJSON {
	out := environmentJSON{ID: e.ID, Object: "environment", Name: e.Name, IsPrimary: e.IsPrimary, InTokenScope: p.InScope(e.ID),
		CreatedAt: userdata.FormatTime(e.CreatedAt), UpdatedAt: userdata.FormatTime(e.UpdatedAt)}
	if out.InTokenScope {
		token := e.Token
		out.Token = &token
	}
	return out
}

// environmentItem returns the environment of an item route's {id}: a
// resource, so missing, deleted or another project's is 404 E1026, and
// then one outside the token's list is 403 E1029 (v2.md §3).
func (a *api) environmentItem(rq *request) (*userdata.Environment, error) {
	env, err := a.store.Environment(rq.Context(), rq.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if env.ProjectID != rq.projectID {
		return nil, userdata.NotFound(userdata.ResourceEnvironment)
	}
	if !rq.p.InScope(env.ID) {
		return nil, &userdata.Error{Code: userdata.CodeOutOfScope}
	}
	return env, nil
}

// environmentName decodes the body {name} of a POST or PATCH.
func environmentName(rq *request) (string, error) {
	o, err := rq.object("name")
	if err != nil {
		return "", err
	}
	name, err := required(o, "name")
	if err != nil {
		return "", err
	}
	return name, userdata.CheckName("environment", name)
}

func (a *api) listEnvironments(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.EnvironmentFilter
	if f.PageRequest, err = page(q, wire.CreatedAtOrder, wire.CreatedAtOrderNames, "createdAt"); err != nil {
		return 0, nil, err
	}
	if f.Name, _, err = q.Single("name"); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListEnvironments(rq.Context(), rq.projectID, f)
	return listAnswer(rq, q, l, err, f.Limit, func(e *userdata.Environment) environmentJSON { return newEnvironment(rq.p, e) })
}

func (a *api) getEnvironment(rq *request) (int, any, error) {
	env, err := a.environmentItem(rq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newEnvironment(rq.p, env), nil
}

func (a *api) createEnvironment(rq *request) (int, any, error) {
	if rq.p.Environments != nil {
		return 0, nil, &userdata.Error{Code: userdata.CodeListedToken}
	}
	name, err := environmentName(rq)
	if err != nil {
		return 0, nil, err
	}
	env, err := a.store.CreateEnvironment(rq.Context(), rq.projectID, name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newEnvironment(rq.p, env), nil
}

func (a *api) updateEnvironment(rq *request) (int, any, error) {
	env, err := a.environmentItem(rq)
	if err != nil {
		return 0, nil, err
	}
	name, err := environmentName(rq)
	if err != nil {
		return 0, nil, err
	}
	if env, err = a.store.UpdateEnvironment(rq.Context(), rq.projectID, env.ID, name); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newEnvironment(rq.p, env), nil
}

func (a *api) deleteEnvironment(rq *request) (int, any, error) {
	env, err := a.environmentItem(rq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.DeleteEnvironment(rq.Context(), rq.projectID, env.ID)
}
