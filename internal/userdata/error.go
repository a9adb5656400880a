package userdata

import (
	"errors"
	"fmt"
)

// Code says what kind of failure an Error is. The HTTP layer maps each code
// (with the Resource, for CodeNotFound) to a status and a wire code.
type Code string

// The error codes of the domain.
const (
	CodeInvalid       Code = "invalid"        // a request fails validation
	CodeInvalidCursor Code = "invalid_cursor" // a cursor selects an empty page
	CodeUnauthorized  Code = "unauthorized"   // no usable API key in the request
	CodeForbidden     Code = "forbidden"      // an unknown or revoked API key or personal token
	CodeExpired       Code = "expired"        // an expired personal token
	CodeNotFound      Code = "not_found"      // see Error.Resource
	CodeConflict      Code = "conflict"       // the resource already exists (see Error.Resource): v2 409 E1023
	CodePredefined    Code = "predefined"     // a predefined definition cannot be changed or deleted: v2 409 E1036
	CodeInUse         Code = "in_use"         // an event definition with recorded events cannot be deleted: v2 409 E1030
	CodeBuiltIn       Code = "built_in"       // a built-in "all" segment cannot be changed or deleted: v2 409 E1037
	CodeTooLarge      Code = "too_large"      // a request body over the limit
	CodeNoRoute       Code = "no_route"       // no such path
	CodeNoMethod      Code = "no_method"      // a known path, another method
	CodeUnavailable   Code = "unavailable"    // storage cannot serve now; retrying later may succeed
	CodeStopped       Code = "stopped"        // a stream stopped early (shutdown, storage fault); the message says what was done
	CodeInternal      Code = "internal"       // anything unexpected

	// CodePrimaryEnvironment refuses to delete a project's primary
	// environment: v2's 409 E0023.
	CodePrimaryEnvironment Code = "primary_environment"

	// The refusals of v2's authorization (v2.md §3, §4, §10), after the
	// token itself is accepted.
	CodeWrongProject       Code = "wrong_project"       // the path's project is not the token's: 403 E1011
	CodeMissingCapability  Code = "missing_capability"  // the route needs a capability the token lacks: 403 E1012
	CodeForeignEnvironment Code = "foreign_environment" // the path's environment is another project's: 403 E1019
	CodeOutOfScope         Code = "out_of_scope"        // the environment is not in the token's list: 403 E1029
	CodeListedToken        Code = "listed_token"        // only a token without an environment list may create environments: 403 E1032
	CodeRateLimited        Code = "rate_limited"        // over the rate limit: 429 E1013
	CodeInvalidScope       Code = "invalid_scope"       // the scope filter of attribute definitions: 400 E1015
	CodeCursorExpired      Code = "cursor_expired"      // a change feed cursor before pruned changes: 410 E1901

	// CodeRefusedURL refuses a webhook URL that tourd will not send to
	// (a private or loopback address …; package webhook): v2's 400 E0054.
	CodeRefusedURL Code = "refused_url"
)

// Resources named by CodeNotFound and CodeConflict errors, with the wire
// code each becomes on HTTP (404, 409) where it reaches a client.
const (
	ResourceUser                = "user"              // E1001
	ResourceCompany             = "company"           // E1002, also for v2's companyId filter (UserFilter.RequireCompany)
	ResourceMembership          = "companyMembership" // E1003
	ResourceKey                 = "apiKey"
	ResourceProject             = "project"
	ResourceEnvironment         = "environment" // v2: E1026 (a missing or deleted environment)
	ResourceToken               = "personalToken"
	ResourceAttributeDefinition = "attributeDefinition" // v2: E1022 (not found), E1023 (conflict)
	ResourceEventDefinition     = "eventDefinition"     // v2: E1024 (not found), E1023 (conflict)
	ResourceSegment             = "segment"             // v2: E1025 (not found)
	ResourceWebhook             = "webhook"             // v2: E0061 (not found)
	ResourceWebhookMessage      = "webhookMessage"      // v2: E0062 (not found)
)

// Error is the one error type of the domain. Message is safe to show to
// clients; wrapped causes are for logs.
type Error struct {
	Code     Code
	Resource string // for CodeNotFound and CodeConflict: which kind of thing is missing, or exists
	Message  string
	// Detail, when set, is context from where the error arose that the
	// client's message ends with, after " — ", also when the wire code has
	// a message of its own (E1001's "User not found" — Detail).
	Detail string
	// Issues, of a CodeInvalid error, are its problems one by one (v2's
	// strict bodies); nil for most errors.
	Issues []Issue
	Err    error // the cause, for logs only; may be nil
}

// Issue is one problem of a request that fails validation: which rule
// refused it ("schema" for the shape of a body), a message, and the path
// of the value in the body (a.b.k, a[0].b).
type Issue struct {
	Rule, Message, Path string
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Detail != "" {
		msg += " — " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Unavailable wraps err, a storage fault that a later attempt may not meet
// (a database that cannot be reached, a full disk, an I/O error), as a
// CodeUnavailable error. The client is told to retry; err is for the logs.
func Unavailable(err error) error {
	return &Error{Code: CodeUnavailable, Message: "storage unavailable", Err: err}
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(c Code, format string, a ...any) error {
	return &Error{Code: c, Message: fmt.Sprintf(format, a...)}
}

// NotFound returns a CodeNotFound error for the given resource.
func NotFound(resource string) error {
	return &Error{Code: CodeNotFound, Resource: resource, Message: resource + " not found"}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err is a CodeNotFound error for resource.
func IsNotFound(err error, resource string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeNotFound && e.Resource == resource
}
