package httpapi

import (
	"errors"
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// wireError is how one domain error reaches the client: status, code, and
// a fixed message ("" means the domain error's own message).
type wireError struct {
	status  int
	code    string
	message string
}

// wireErrors maps domain codes (and, for not-found, resources) to the
// contract's codes (§3.2, §3.4, §15.1).
var wireErrors = map[string]wireError{
	string(userdata.CodeInvalid):                                {http.StatusBadRequest, "E1017", ""},
	string(userdata.CodeInvalidCursor):                          {http.StatusBadRequest, "E1007", "Invalid cursor parameter"},
	string(userdata.CodeUnauthorized):                           {http.StatusUnauthorized, "E1010", "Missing API key"},
	string(userdata.CodeForbidden):                              {http.StatusForbidden, "E1000", "Invalid API key provided"},
	string(userdata.CodeNotFound) + userdata.ResourceUser:       {http.StatusNotFound, "E1001", "User not found"},
	string(userdata.CodeNotFound) + userdata.ResourceCompany:    {http.StatusNotFound, "E1002", "Company not found"},
	string(userdata.CodeNotFound) + userdata.ResourceMembership: {http.StatusNotFound, "E1003", "Company membership not found"},
	string(userdata.CodeTooLarge):                               {http.StatusRequestEntityTooLarge, "E1018", "Request body too large"},
	string(userdata.CodeNoRoute):                                {http.StatusNotFound, "E1033", "Unknown API route"},
	string(userdata.CodeNoMethod):                               {http.StatusMethodNotAllowed, "E1033", "Unknown API route"},
	string(userdata.CodeUnavailable):                            {http.StatusServiceUnavailable, "E0000", "The service is temporarily unavailable; retry later"},
	string(userdata.CodeStopped):                                {http.StatusServiceUnavailable, "E0000", ""},
}

// retryAfter is the Retry-After of a 503: a storage fault is retried after
// a second.
var retryAfter = []string{"1"}

var internalError = wireError{http.StatusInternalServerError, "E0000", "An unexpected error occurred"}

// statusClientClosed is the status recorded, in the log and the metrics,
// for a request whose client went away before it was answered, which
// interrupted it (nginx's "client closed request"). Nobody reads it.
const statusClientClosed = 499

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	DocURL  string `json:"doc_url"`
}

// writeError is the one place errors become responses. Unexpected errors
// are logged with their whole chain; the client sees a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, fields := s.wire(r, err)
	if rec, ok := w.(*statusRecorder); ok {
		rec.code = fields.Code
	}
	if status == http.StatusServiceUnavailable {
		w.Header()["Retry-After"] = retryAfter
	}
	wire.WriteJSON(w, status, errorBody{fields})
}

// wire maps an error to its status and envelope fields (§3), logging the
// unexpected ones and the storage faults (at most once a second each: a
// fault that fails every request must not flood the log).
func (s *Server) wire(r *http.Request, err error) (int, errorFields) {
	var e *userdata.Error
	we, ok := internalError, false
	if errors.As(err, &e) {
		key := string(e.Code)
		if e.Code == userdata.CodeNotFound {
			key += e.Resource
		}
		we, ok = wireErrors[key]
	}
	switch {
	case !ok:
		we = internalError
		if gone := r.Context().Err(); gone != nil && errors.Is(err, gone) {
			we.status = statusClientClosed
		} else {
			s.internalLog.log(r.Context(), "request failed", r, err)
		}
	case e.Code == userdata.CodeUnavailable:
		s.faultLog.log(r.Context(), "storage unavailable: answering 503", r, err)
	}
	msg := we.message
	if msg == "" {
		msg = e.Message
	}
	return we.status, errorFields{we.code, msg, s.docURL}
}
