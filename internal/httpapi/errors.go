package httpapi

import (
	"net/http"

	"tourd/internal/httpapi/wire"
)

// writeError is the one place errors become responses, through the error
// table of wire.Describe. Unexpected errors are logged with their whole
// chain; the client sees a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, fields := s.describe(r, err)
	if rec, ok := w.(*statusRecorder); ok {
		rec.code = fields.Code
	}
	wire.WriteError(w, status, fields)
}

// describe maps an error to its status and envelope fields (wire.Describe),
// logging the unexpected ones and the storage faults (at most once a
// second each: a fault that fails every request must not flood the log).
func (s *Server) describe(r *http.Request, err error) (int, wire.ErrorFields) {
	status, fields, fault := wire.Describe(r.Context(), err, s.docURL)
	switch fault {
	case wire.FaultInternal:
		s.internalLog.log(r.Context(), "request failed", r, err)
	case wire.FaultUnavailable:
		s.faultLog.log(r.Context(), "storage unavailable: answering 503", r, err)
	}
	return status, fields
}

// WriteError answers err in the error envelope, as the v1 routes do: it is
// for the handlers another package registers with Handle.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}
