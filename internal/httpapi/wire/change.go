package wire

import (
	"tourd/internal/userdata"
)

// AppendChange writes the envelope of a change (webhooks.md §1), the one
// encoding of it: the body of its webhook messages and its item in the
// feed, the same bytes every time, since a change holds its object as of
// the change.
func AppendChange(buf []byte, c *userdata.Change) []byte {
	buf = append(buf, `{"id":`...)
	buf = userdata.AppendString(buf, c.ID)
	buf = append(buf, `,"object":"webhookMessage","type":`...)
	buf = userdata.AppendString(buf, c.Type)
	buf = append(buf, `,"createdAt":"`...)
	buf = append(buf, userdata.FormatTime(c.CreatedAt)...)
	buf = append(buf, `","environmentId":`...)
	buf = userdata.AppendString(buf, c.EnvironmentID)
	buf = append(buf, `,"data":{`...)
	switch {
	case c.User != nil:
		u := NewUser(c.User)
		buf = u.appendJSON(append(buf, `"user":`...))
	case c.Company != nil:
		co := NewCompany(c.Company)
		buf = co.appendJSON(append(buf, `"company":`...))
	case c.Membership != nil:
		m := NewMembership(c.Membership)
		buf = m.appendJSON(append(buf, `"membership":`...))
	case c.Event != nil:
		buf = appendTrackedEvent(append(buf, `"event":`...), c.Event)
	}
	if c.Previous != nil {
		buf = append(append(buf, `,"previousAttributes":`...), c.Previous...)
	}
	return append(buf, "}}"...)
}

// appendTrackedEvent writes Usertour's thin event object of a change:
// {id, object, codeName, eventDefinitionId, createdAt, userId, companyId,
// sessionId, contentId, versionId, attributes}, the user and company by
// their external ids, the last three null (tourd has no sessions or
// content).
func appendTrackedEvent(buf []byte, e *userdata.Event) []byte {
	buf = append(buf, `{"id":`...)
	buf = userdata.AppendString(buf, e.ID)
	buf = append(buf, `,"object":"event","codeName":`...)
	buf = userdata.AppendString(buf, e.Name)
	buf = append(buf, `,"eventDefinitionId":`...)
	buf = userdata.AppendString(buf, e.DefinitionID)
	buf = append(buf, `,"createdAt":"`...)
	buf = append(buf, userdata.FormatTime(e.CreatedAt)...)
	buf = append(buf, `","userId":`...)
	buf = userdata.AppendString(buf, e.UserID)
	buf = append(buf, `,"companyId":`...)
	if e.CompanyID == "" {
		buf = append(buf, "null"...)
	} else {
		buf = userdata.AppendString(buf, e.CompanyID)
	}
	buf = append(buf, `,"sessionId":null,"contentId":null,"versionId":null,"attributes":`...)
	return append(append(buf, e.Attributes...), '}')
}

// ChangeList is a page of the change feed (webhooks.md §4):
// {"object":"list","results":[envelope…],"next":"<cursor>"}.
type ChangeList struct {
	Changes []*userdata.Change
	Next    string
}

func (l *ChangeList) appendJSON(buf []byte) []byte {
	buf = append(buf, `{"object":"list","results":[`...)
	for i, c := range l.Changes {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendChange(buf, c)
	}
	buf = append(buf, `],"next":`...)
	buf = userdata.AppendString(buf, l.Next)
	return append(buf, '}')
}

// MarshalJSON implements json.Marshaler with appendJSON.
func (l ChangeList) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }
