package wire

import (
	"encoding/json"

	"tourd/internal/userdata"
)

// The user and company objects are the hot path of the API, so they write
// their own JSON, in the key order of v1 §6. MarshalJSON makes encoding/json
// (lists, tests) produce exactly the same.

// jsonAppender is a wire value that writes its own JSON.
type jsonAppender interface {
	appendJSON(buf []byte) []byte
}

func (s *Summary) appendJSON(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = userdata.AppendString(buf, s.ID)
	buf = append(buf, `,"object":`...)
	buf = userdata.AppendString(buf, s.Object)
	buf = append(buf, `,"attributes":`...)
	buf = append(buf, s.Attributes...)
	buf = append(buf, `,"createdAt":"`...)
	buf = append(buf, s.CreatedAt...) // a timestamp: nothing to escape
	buf = append(buf, `","created_at":"`...)
	buf = append(buf, s.CreatedAtAlias...)
	return append(buf, `"}`...)
}

// appendWith writes the summary followed by more members.
func (s *Summary) appendWith(buf []byte, more func([]byte) []byte) []byte {
	buf = s.appendJSON(buf)
	buf = buf[:len(buf)-1] // reopen the object
	return append(more(buf), '}')
}

func (u *User) appendJSON(buf []byte) []byte {
	return u.Summary.appendWith(buf, func(buf []byte) []byte {
		buf = appendArray(append(buf, `,"companies":`...), u.Companies)
		return appendArray(append(buf, `,"memberships":`...), u.Memberships)
	})
}

func (c *Company) appendJSON(buf []byte) []byte {
	return c.Summary.appendWith(buf, func(buf []byte) []byte {
		buf = appendArray(append(buf, `,"users":`...), c.Users)
		return appendArray(append(buf, `,"memberships":`...), c.Memberships)
	})
}

func (m *Membership) appendJSON(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = userdata.AppendString(buf, m.ID)
	buf = append(buf, `,"object":"companyMembership","attributes":`...)
	buf = append(buf, m.Attributes...)
	buf = append(buf, `,"createdAt":"`...)
	buf = append(buf, m.CreatedAt...)
	buf = append(buf, `","created_at":"`...)
	buf = append(buf, m.CreatedAtAlias...)
	buf = append(buf, `","companyId":`...)
	buf = userdata.AppendString(buf, m.CompanyID)
	buf = append(buf, `,"userId":`...)
	buf = userdata.AppendString(buf, m.UserID)
	if m.Company != nil {
		buf = m.Company.appendJSON(append(buf, `,"company":`...))
	}
	if m.User != nil {
		buf = m.User.appendJSON(append(buf, `,"user":`...))
	}
	return append(buf, '}')
}

// appendArray writes null for nil (not expanded), else an array.
func appendArray[T any, P interface {
	*T
	jsonAppender
}](buf []byte, list []T) []byte {
	if list == nil {
		return append(buf, "null"...)
	}
	buf = append(buf, '[')
	for i := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = P(&list[i]).appendJSON(buf)
	}
	return append(buf, ']')
}

// MarshalJSON implements json.Marshaler with appendJSON.
func (s Summary) MarshalJSON() ([]byte, error) { return s.appendJSON(nil), nil }

// MarshalJSON implements json.Marshaler with appendJSON.
func (u User) MarshalJSON() ([]byte, error) { return u.appendJSON(nil), nil }

// MarshalJSON implements json.Marshaler with appendJSON.
func (c Company) MarshalJSON() ([]byte, error) { return c.appendJSON(nil), nil }

// MarshalJSON implements json.Marshaler with appendJSON.
func (m Membership) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

var (
	_ json.Marshaler = User{}
	_ jsonAppender   = (*User)(nil)
)
