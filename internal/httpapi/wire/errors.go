package wire

import (
	"context"
	"errors"
	"net/http"

	"tourd/internal/userdata"
)

// DefaultDocURL is the doc_url of every error envelope unless configured.
const DefaultDocURL = "https://docs.usertour.io"

// ErrorBody is the error envelope (v1 §3): the error object is all there
// is at the top level.
type ErrorBody struct {
	Error ErrorFields `json:"error"`
}

// ErrorFields is the error object of the envelope.
type ErrorFields struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	DocURL  string  `json:"doc_url"`
	Issues  []Issue `json:"issues,omitempty"`
}

// Issue is one entry of issues (v2.md §5).
type Issue struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Path    string `json:"path"`
}

// errorKey selects a row of errorTable: a domain code, and the resource
// the error names ("" for the code's own row).
type errorKey struct {
	code     userdata.Code
	resource string
}

// errorMapping is how one domain error reaches the client: status, code,
// and a fixed message ("" means the domain error's own message).
type errorMapping struct {
	status  int
	code    string
	message string
}

// errorTable maps domain errors to the contract's codes (v1 §3.2, §3.4,
// §15.1), for every version of the API: a new wire code is a new row,
// under its domain code and, where the code alone does not decide, the
// resource. Unmapped errors are internal errors. A domain error's Detail
// ends the message, after " — ", whichever message the row gives.
var errorTable = map[errorKey]errorMapping{
	{userdata.CodeInvalid, ""}:                           {http.StatusBadRequest, "E1017", ""},
	{userdata.CodeInvalidCursor, ""}:                     {http.StatusBadRequest, "E1007", "Invalid cursor parameter"},
	{userdata.CodeUnauthorized, ""}:                      {http.StatusUnauthorized, "E1010", "Missing API key"},
	{userdata.CodeForbidden, ""}:                         {http.StatusForbidden, "E1000", "Invalid API key provided"},
	{userdata.CodeNotFound, userdata.ResourceUser}:       {http.StatusNotFound, "E1001", "User not found"},
	{userdata.CodeNotFound, userdata.ResourceCompany}:    {http.StatusNotFound, "E1002", "Company not found"},
	{userdata.CodeNotFound, userdata.ResourceMembership}: {http.StatusNotFound, "E1003", "Company membership not found"},
	{userdata.CodeTooLarge, ""}:                          {http.StatusRequestEntityTooLarge, "E1018", "Request body too large"},
	{userdata.CodeNoRoute, ""}:                           {http.StatusNotFound, "E1033", "Unknown API route"},
	{userdata.CodeNoMethod, ""}:                          {http.StatusMethodNotAllowed, "E1033", "Unknown API route"},
	{userdata.CodeUnavailable, ""}:                       {http.StatusServiceUnavailable, "E0000", "The service is temporarily unavailable; retry later"},
	{userdata.CodeStopped, ""}:                           {http.StatusServiceUnavailable, "E0000", ""},

	// v2 (v2.md §3, §5, §8, §9, §10; segments.md §2).
	{userdata.CodeExpired, ""}:                                    {http.StatusUnauthorized, "E1020", "The personal token has expired"},
	{userdata.CodeWrongProject, ""}:                               {http.StatusForbidden, "E1011", "The token does not belong to this project"},
	{userdata.CodeMissingCapability, ""}:                          {http.StatusForbidden, "E1012", ""},
	{userdata.CodeNotFound, userdata.ResourceEnvironment}:         {http.StatusNotFound, "E1026", "Environment not found"},
	{userdata.CodeForeignEnvironment, ""}:                         {http.StatusForbidden, "E1019", "The environment belongs to another project"},
	{userdata.CodeOutOfScope, ""}:                                 {http.StatusForbidden, "E1029", "The environment is outside the token's environment list"},
	{userdata.CodeListedToken, ""}:                                {http.StatusForbidden, "E1032", "A token with an environment list cannot create environments: the new environment would be outside its list. Use a token whose scopes are all project-level (definitions, environments)"},
	{userdata.CodeRateLimited, ""}:                                {http.StatusTooManyRequests, "E1013", "Too many requests"},
	{userdata.CodeCursorExpired, ""}:                              {http.StatusGone, "E1901", "Change cursor expired: read the current state again and resume from `after=now`"},
	{userdata.CodeInvalidScope, ""}:                               {http.StatusBadRequest, "E1015", ""},
	{userdata.CodeNotFound, userdata.ResourceAttributeDefinition}: {http.StatusNotFound, "E1022", "Attribute definition not found"},
	{userdata.CodeNotFound, userdata.ResourceEventDefinition}:     {http.StatusNotFound, "E1024", "Event definition not found"},
	{userdata.CodeNotFound, userdata.ResourceSegment}:             {http.StatusNotFound, "E1025", "Segment not found"},
	{userdata.CodeConflict, ""}:                                   {http.StatusConflict, "E1023", ""},
	{userdata.CodeInUse, ""}:                                      {http.StatusConflict, "E1030", ""},
	{userdata.CodePredefined, ""}:                                 {http.StatusConflict, "E1036", "Predefined definitions cannot be modified or deleted — create your own definition instead."},
	{userdata.CodePrimaryEnvironment, ""}:                         {http.StatusConflict, "E0023", ""},
	{userdata.CodeBuiltIn, ""}:                                    {http.StatusConflict, "E1037", "The built-in \"all\" segment cannot be modified or deleted — create a condition segment if you need a filtered audience."},

	// v2 webhooks (webhooks.md §2).
	{userdata.CodeNotFound, userdata.ResourceWebhook}:        {http.StatusNotFound, "E0061", "Webhook not found."},
	{userdata.CodeNotFound, userdata.ResourceWebhookMessage}: {http.StatusNotFound, "E0062", "Webhook message not found."},
	{userdata.CodeRefusedURL, ""}:                            {http.StatusBadRequest, "E0054", "This URL must be a publicly reachable HTTP(S) address"},
}

var internalError = errorMapping{http.StatusInternalServerError, "E0000", "An unexpected error occurred"}

// statusClientClosed is the status recorded, in the log and the metrics,
// for a request whose client went away before it was answered, which
// interrupted it (nginx's "client closed request"). Nobody reads it.
const statusClientClosed = 499

// Fault says whether an error that Describe mapped is one the server must
// log, and as what. The envelope never shows more than the table's
// message; the log is where the whole chain goes.
type Fault int

const (
	// NoFault is an error the answer says all about.
	NoFault Fault = iota
	// FaultInternal is an unexpected error, answered 500.
	FaultInternal
	// FaultUnavailable is a storage fault, answered 503.
	FaultUnavailable
)

// Describe maps err to its status and envelope fields through the error
// table, and says whether it is a fault to log. An error that interrupted
// a request because its client went away (ctx is the request's) is
// answered statusClientClosed and is no fault.
func Describe(ctx context.Context, err error, docURL string) (status int, fields ErrorFields, fault Fault) {
	var e *userdata.Error
	m, ok := internalError, false
	if errors.As(err, &e) {
		if m, ok = errorTable[errorKey{e.Code, e.Resource}]; !ok {
			m, ok = errorTable[errorKey{e.Code, ""}]
		}
	}
	switch {
	case !ok:
		m = internalError
		if gone := ctx.Err(); gone != nil && errors.Is(err, gone) {
			m.status = statusClientClosed
		} else {
			fault = FaultInternal
		}
	case e.Code == userdata.CodeUnavailable:
		fault = FaultUnavailable
	}
	fields = ErrorFields{Code: m.code, Message: m.message, DocURL: docURL}
	if ok {
		if fields.Message == "" {
			fields.Message = e.Message
		}
		if e.Detail != "" {
			fields.Message += " — " + e.Detail
		}
		for _, is := range e.Issues {
			fields.Issues = append(fields.Issues, Issue{is.Rule, is.Message, is.Path})
		}
	}
	return m.status, fields, fault
}

// retryAfter is the Retry-After of a 503: a storage fault is retried after
// a second.
var retryAfter = []string{"1"}

// WriteError sends the envelope of fields with the given status, and
// Retry-After with a 503.
func WriteError(w http.ResponseWriter, status int, fields ErrorFields) {
	if status == http.StatusServiceUnavailable {
		w.Header()["Retry-After"] = retryAfter
	}
	WriteJSON(w, status, ErrorBody{fields})
}
