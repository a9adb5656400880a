// Package apiv2 serves the project-scoped v2 API (v2.md): personal tokens
// with capability scopes and environment lists, rate limits, and the
// routes of users, companies, memberships, definitions, environments,
// segments (segments.md) and webhook endpoints (webhooks.md). It is a
// second face of the domain beside v1 (package httpapi): its handlers
// call the same userdata.Store methods and share v1's wire helpers
// (package wire), and its routes are registered on v1's server, which
// gives them request ids, logs, metrics and panic recovery.
package apiv2

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"tourd/internal/deliver"
	"tourd/internal/httpapi"
	"tourd/internal/httpapi/wire"
	"tourd/internal/ratelimit"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// Config is what an operator may set (v2.md §10, webhooks.md §2, §3).
type Config struct {
	// RateLimit is how many requests a token may make per minute, and
	// RateLimitAnon how many a client address may make without a valid
	// token; 0 turns a limit off.
	RateLimit, RateLimitAnon int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (ratelimit.ClientIP).
	TrustedProxies []netip.Prefix
	// WebhookGuard says which addresses webhooks may reach
	// (TOURD_WEBHOOK_ALLOW_PRIVATE); nil is the zero Guard: public
	// addresses only, names resolved by the system's resolver.
	WebhookGuard *webhook.Guard
	// Secrets keeps webhooks' signing secrets at rest (TOURD_SECRET_KEY);
	// nil stores them as they are.
	Secrets *webhook.Keyring
	// Deliverer sends the messages of POST E/webhooks/{id}/test; nil is
	// one made of WebhookGuard and Secrets that logs nothing.
	Deliverer *deliver.Deliverer
}

// Defaults of Config (v2.md §10).
const (
	DefaultRateLimit     = 1000
	DefaultRateLimitAnon = 100
)

// api serves the v2 routes.
type api struct {
	srv       *httpapi.Server
	store     userdata.Store
	tokens    *ratelimit.Limiter // per token
	anon      *ratelimit.Limiter // per client address, for requests without a valid token
	trusted   []netip.Prefix
	guard     *webhook.Guard
	secrets   *webhook.Keyring
	deliverer *deliver.Deliverer
}

// request is a v2 request that passed authentication, the project and
// capability checks and, on an environment's routes, the environment
// checks: what its handler needs.
type request struct {
	*http.Request
	w         http.ResponseWriter
	p         userdata.Principal
	projectID string
	// env is the path's environment on the routes of an environment's
	// data; nil elsewhere.
	env *userdata.Environment
	// body is the request body of PUT, POST and PATCH: valid JSON, or
	// empty.
	body []byte
}

// tenant is the environment a data route acts on, as the store takes it.
func (rq *request) tenant() userdata.Tenant {
	return userdata.Tenant{ProjectID: rq.projectID, EnvironmentID: rq.env.ID}
}

// handler serves one route: it returns the status and the value to send as
// JSON (nil for an empty body), or an error for the envelope.
type handler func(a *api, rq *request) (int, any, error)

// route is one row of the route table.
type route struct {
	method string
	path   string              // under /v2/projects/{projectId}
	cap    userdata.Capability // the capability the route needs; "a|b" for either
	h      handler
}

// allows reports whether p holds the capability rt needs (one of them,
// for "a|b"), without allocating: the check runs on every v2 request.
func (rt route) allows(p userdata.Principal) bool {
	for c := range strings.SplitSeq(string(rt.cap), "|") {
		if p.Can(userdata.Capability(c)) {
			return true
		}
	}
	return false
}

// envPath starts the routes of an environment's data.
const envPath = "/environments/{environmentId}"

// routes is the v2 route table (v2.md §1). A path with {environmentId}
// acts on that environment's data (its checks run before the handler).
var routes = []route{
	{"GET", envPath + "/users", "user:read", (*api).listUsers},
	{"GET", envPath + "/users/{id}", "user:read", (*api).getUser},
	{"PUT", envPath + "/users/{id}", "user:write", (*api).putUser},
	{"DELETE", envPath + "/users/{id}", "user:delete", (*api).deleteUser},
	{"GET", envPath + "/companies", "company:read", (*api).listCompanies},
	{"GET", envPath + "/companies/{id}", "company:read", (*api).getCompany},
	{"PUT", envPath + "/companies/{id}", "company:write", (*api).putCompany},
	{"DELETE", envPath + "/companies/{id}", "company:delete", (*api).deleteCompany},
	{"PUT", envPath + "/companies/{id}/memberships/{userId}", "company:write", (*api).putMembership},
	{"DELETE", envPath + "/companies/{id}/memberships/{userId}", "company:write", (*api).deleteMembership},
	{"GET", "/attribute-definitions", "attribute:read", (*api).listAttributeDefinitions},
	{"POST", "/attribute-definitions", "attribute:create", (*api).createAttributeDefinition},
	{"GET", "/attribute-definitions/{id}", "attribute:read", (*api).getAttributeDefinition},
	{"PATCH", "/attribute-definitions/{id}", "attribute:update", (*api).updateAttributeDefinition},
	{"DELETE", "/attribute-definitions/{id}", "attribute:delete", (*api).deleteAttributeDefinition},
	{"GET", "/event-definitions", "event:read", (*api).listEventDefinitions},
	{"POST", "/event-definitions", "event:create", (*api).createEventDefinition},
	{"GET", "/event-definitions/{id}", "event:read", (*api).getEventDefinition},
	{"PATCH", "/event-definitions/{id}", "event:update", (*api).updateEventDefinition},
	{"DELETE", "/event-definitions/{id}", "event:delete", (*api).deleteEventDefinition},
	{"GET", "/environments", "environment:read", (*api).listEnvironments},
	{"POST", "/environments", "environment:manage", (*api).createEnvironment},
	{"GET", "/environments/{id}", "environment:read", (*api).getEnvironment},
	{"PATCH", "/environments/{id}", "environment:manage", (*api).updateEnvironment},
	{"DELETE", "/environments/{id}", "environment:manage", (*api).deleteEnvironment},
	{"GET", "/segments", "segment:read", (*api).listSegments},
	{"POST", "/segments", "segment:create", (*api).createSegment},
	{"GET", "/segments/{id}", "segment:read", (*api).getSegment},
	{"PATCH", "/segments/{id}", "segment:update", (*api).updateSegment},
	{"DELETE", "/segments/{id}", "segment:delete", (*api).deleteSegment},
	{"PUT", envPath + "/segments/{id}/members/{externalId}", "segment:update", (*api).putSegmentMember},
	{"DELETE", envPath + "/segments/{id}/members/{externalId}", "segment:update", (*api).deleteSegmentMember},
	// Either capability reads a part of the feed (see listChanges).
	{"GET", envPath + "/changes", "user:read|company:read", (*api).listChanges},
	{"GET", envPath + "/webhooks", "webhook:read", (*api).listWebhooks},
	{"POST", envPath + "/webhooks", "webhook:manage", (*api).createWebhook},
	{"GET", envPath + "/webhooks/{id}", "webhook:read", (*api).getWebhook},
	{"PATCH", envPath + "/webhooks/{id}", "webhook:manage", (*api).updateWebhook},
	{"DELETE", envPath + "/webhooks/{id}", "webhook:manage", (*api).deleteWebhook},
	{"POST", envPath + "/webhooks/{id}/rotate-secret", "webhook:manage", (*api).rotateWebhookSecret},
	{"POST", envPath + "/webhooks/{id}/test", "webhook:manage", (*api).testWebhook},
	{"GET", envPath + "/webhooks/{id}/deliveries", "webhook:read", (*api).listDeliveries},
	{"POST", envPath + "/webhooks/{id}/messages/{messageId}/resend", "webhook:manage", (*api).resendMessage},
}

// projectPath starts every routed path.
const projectPath = "/v2/projects/{projectId}"

// Register serves the v2 routes, and GET /v2/openapi.json, on srv.
func Register(srv *httpapi.Server, store userdata.Store, cfg Config) {
	a := &api{srv: srv, store: store, trusted: cfg.TrustedProxies,
		tokens: ratelimit.New(cfg.RateLimit, time.Minute), anon: ratelimit.New(cfg.RateLimitAnon, time.Minute),
		guard: cfg.WebhookGuard, secrets: cfg.Secrets, deliverer: cfg.Deliverer}
	if a.guard == nil {
		a.guard = &webhook.Guard{}
	}
	if a.secrets == nil {
		a.secrets = &webhook.Keyring{}
	}
	if a.deliverer == nil {
		a.deliverer = deliver.New(store, deliver.Config{Guard: a.guard, Secrets: a.secrets}, slog.New(slog.DiscardHandler))
	}
	byPath := map[string]map[string]route{}
	var paths []string
	for _, rt := range routes {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]route{}
			paths = append(paths, rt.path)
		}
		byPath[rt.path][rt.method] = rt
	}
	for _, p := range paths {
		srv.Handle(projectPath+p, a.dispatch(byPath[p]))
	}
	srv.Handle("/v2/openapi.json", a.openAPI())
}

// dispatch serves the routes of one path: it picks the route of the
// method (405 otherwise, before the rate limiter), then runs the checks of
// v2.md §3 in their order and the route's handler.
func (a *api) dispatch(methods map[string]route) http.Handler {
	return httpapi.ByMethod(a.srv, methods, func(w http.ResponseWriter, r *http.Request, rt route) {
		status, body, err := a.serve(w, r, rt)
		switch {
		case err != nil:
			a.srv.WriteError(w, r, err)
		case body == nil:
			w.WriteHeader(status)
		default:
			wire.WriteJSON(w, status, body)
		}
	})
}

// serve runs the checks of v2.md §3, in order, and then the handler.
func (a *api) serve(w http.ResponseWriter, r *http.Request, rt route) (int, any, error) {
	rq := &request{Request: r, w: w, projectID: r.PathValue("projectId")}
	// The body of every method is read and parsed: a body over the limit
	// or malformed JSON answers before anything else, on a GET or a DELETE
	// too (only PUT, POST and PATCH use it). The request still counts in
	// its bucket, and its answer carries the X-RateLimit-* headers as
	// every routed answer does (v2.md §10).
	body, bodyErr := wire.ReadBody(r)
	if bodyErr == nil && len(body) > 0 && !json.Valid(body) {
		// The message of the parse error, without the body.
		_, bodyErr = wire.DecodeObject(body, "")
	}
	rq.body = body
	p, authErr := a.authenticate(r)
	bucket := ""
	if authErr == nil {
		bucket = p.TokenID
	}
	limitErr := a.limit(w, r, bucket)
	if bodyErr != nil {
		w.Header().Del("Retry-After") // the 400 or 413 comes first, even over the limit
		return 0, nil, bodyErr
	}
	if limitErr != nil {
		return 0, nil, limitErr
	}
	if authErr != nil {
		return 0, nil, authErr
	}
	rq.p = p
	if rq.projectID != p.ProjectID {
		return 0, nil, &userdata.Error{Code: userdata.CodeWrongProject}
	}
	if !rt.allows(p) {
		return 0, nil, userdata.Errorf(userdata.CodeMissingCapability, "The token lacks the capability this route needs: %s", rt.cap)
	}
	if strings.HasPrefix(rt.path, envPath) {
		env, err := a.environment(r, rq.projectID, r.PathValue("environmentId"))
		if err != nil {
			return 0, nil, err
		}
		if !p.InScope(env.ID) {
			return 0, nil, &userdata.Error{Code: userdata.CodeOutOfScope}
		}
		rq.env = env
	}
	return rt.h(a, rq)
}

// environment returns the live environment id, which must be one of
// project's: 404 E1026 when it is missing or deleted, 403 E1019 when it is
// another project's.
func (a *api) environment(r *http.Request, project, id string) (*userdata.Environment, error) {
	env, err := a.store.Environment(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if env.ProjectID != project {
		return nil, &userdata.Error{Code: userdata.CodeForeignEnvironment}
	}
	return env, nil
}

// authenticate applies v2.md §3 to the Authorization header: the scheme
// word is case-insensitive, and only utp_ tokens are credentials here.
func (a *api) authenticate(r *http.Request) (userdata.Principal, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return userdata.Principal{}, &userdata.Error{Code: userdata.CodeUnauthorized}
	}
	if !strings.HasPrefix(token, userdata.TokenPrefix) {
		return userdata.Principal{}, &userdata.Error{Code: userdata.CodeForbidden}
	}
	return a.store.AuthenticateToken(r.Context(), userdata.HashKey(token))
}

// limit counts the request in its bucket, that of the valid token tokenID
// or, for "" (no valid token), the client address's, and sets the
// X-RateLimit-* headers. Over the limit, it returns the 429 (v2.md §10).
func (a *api) limit(w http.ResponseWriter, r *http.Request, tokenID string) error {
	var res ratelimit.Result
	if tokenID != "" {
		res = a.tokens.Allow(tokenID)
	} else {
		res = a.anon.Allow(ratelimit.ClientIP(r, a.trusted))
	}
	if res.Limit == 0 { // no limit
		return nil
	}
	h := w.Header()
	reset := strconv.Itoa(res.ResetSeconds())
	h["X-Ratelimit-Limit"] = []string{strconv.Itoa(res.Limit)}
	h["X-Ratelimit-Remaining"] = []string{strconv.Itoa(res.Remaining)}
	h["X-Ratelimit-Reset"] = []string{reset}
	if !res.Allowed {
		h["Retry-After"] = []string{reset}
		return &userdata.Error{Code: userdata.CodeRateLimited}
	}
	return nil
}
