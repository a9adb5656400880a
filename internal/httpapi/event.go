package httpapi

import (
	"net/http"
	"time"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// decodeEvent decodes and validates the body of POST /v1/events.
func decodeEvent(body []byte) (*userdata.EventInput, error) {
	o, err := wire.DecodeObject(body, "")
	if err != nil {
		return nil, err
	}
	in := &userdata.EventInput{}
	if in.UserID, err = o.ID("userId", "userId"); err != nil {
		return nil, err
	}
	if !wire.IsNull(o["companyId"]) {
		if in.CompanyID, err = o.ID("companyId", "companyId"); err != nil {
			return nil, err
		}
	}
	if in.Name, err = o.Str("name"); err != nil {
		return nil, err
	}
	if in.Attributes, err = o.Attributes("attributes", "attributes", true); err != nil {
		return nil, err
	}
	if !wire.IsNull(o["timestamp"]) {
		ts, err := o.Str("timestamp")
		var at time.Time
		if err == nil {
			at, err = time.Parse(time.RFC3339Nano, ts)
		}
		if y := at.UTC().Year(); err != nil || y < 0 || y > 9999 { // §1: a four-digit UTC year
			return nil, userdata.Errorf(userdata.CodeInvalid, "timestamp must be an ISO-8601 date and time, such as 2025-04-27T13:39:47.024Z")
		}
		in.Timestamp = &at
	}
	return in, in.Validate()
}

func (s *Server) trackEvent(r *http.Request, t userdata.Tenant) (int, any, error) {
	body, err := wire.ReadBody(r)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeEvent(body)
	if err != nil {
		return 0, nil, err
	}
	ev, err := s.store.TrackEvent(r.Context(), t, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, wire.NewEvent(ev), nil
}

func (s *Server) listEvents(r *http.Request, t userdata.Tenant) (int, any, error) {
	q, err := wire.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.EventFilter
	if f.PageRequest, err = q.Page(wire.CreatedAtOrder, wire.CreatedAtOrderNames, wire.CreatedAtOrder["-createdAt"]); err != nil {
		return 0, nil, err
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"userId", &f.UserID}, {"companyId", &f.CompanyID}, {"name", &f.Name}} {
		if *p.dst, _, err = q.Single(p.name); err != nil {
			return 0, nil, err
		}
	}
	l, err := s.store.ListEvents(r.Context(), t, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.NewList(r, q, wire.MapItems(l.Items, wire.NewEvent), l, f.Limit, false), nil
}
