package wire

import (
	"encoding/json"

	"tourd/internal/userdata"
)

// The objects of the API (v1 §6, §15.4), in the key order of the
// contract. Their attributes are the stored JSON, sent as is; times are
// userdata.FormatTime's, under both createdAt and created_at.

// Summary is a nested user or company (v1 §6.4), and the common head of
// the full objects.
type Summary struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Attributes     json.RawMessage `json:"attributes"`
	CreatedAt      string          `json:"createdAt"`
	CreatedAtAlias string          `json:"created_at"`
}

// User is a user (v1 §6.1): relation keys are null unless expanded.
type User struct {
	Summary
	Companies   []Summary    `json:"companies"`
	Memberships []Membership `json:"memberships"`
}

// Company is a company (v1 §6.2).
type Company struct {
	Summary
	Users       []Summary    `json:"users"`
	Memberships []Membership `json:"memberships"`
}

// Membership is a company membership (v1 §6.3); company and user are
// absent unless expanded.
type Membership struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Attributes     json.RawMessage `json:"attributes"`
	CreatedAt      string          `json:"createdAt"`
	CreatedAtAlias string          `json:"created_at"`
	CompanyID      string          `json:"companyId"`
	UserID         string          `json:"userId"`
	Company        *Summary        `json:"company,omitempty"`
	User           *Summary        `json:"user,omitempty"`
}

// AttributeDefinition is an attribute definition (v1 §6.5).
type AttributeDefinition struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	CreatedAt      string `json:"createdAt"`
	CreatedAtAlias string `json:"created_at"`
	DataType       string `json:"dataType"`
	Description    string `json:"description"`
	DisplayName    string `json:"displayName"`
	CodeName       string `json:"codeName"`
	Scope          string `json:"scope"`
}

// EventDefinition is an event definition (v1 §6.6).
type EventDefinition struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	CreatedAt      string `json:"createdAt"`
	CreatedAtAlias string `json:"created_at"`
	Description    string `json:"description"`
	DisplayName    string `json:"displayName"`
	CodeName       string `json:"codeName"`
}

// Event is a tracked event (v1 §15.4).
type Event struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Name           string          `json:"name"`
	UserID         string          `json:"userId"`
	CompanyID      *string         `json:"companyId"`
	Attributes     json.RawMessage `json:"attributes"`
	CreatedAt      string          `json:"createdAt"`
	CreatedAtAlias string          `json:"created_at"`
}

func summary(object, externalID string, attrs json.RawMessage, createdAt string) Summary {
	return Summary{externalID, object, attrs, createdAt, createdAt}
}

func userSummary(u *userdata.User) Summary {
	return summary("user", u.ExternalID, u.Attributes, userdata.FormatTime(u.CreatedAt))
}

func companySummary(c *userdata.Company) Summary {
	return summary("company", c.ExternalID, c.Attributes, userdata.FormatTime(c.CreatedAt))
}

// NewUser returns the wire form of u, with the relations u holds.
func NewUser(u *userdata.User) User {
	return User{Summary: userSummary(u), Companies: related(u.Companies, companySummary), Memberships: related(u.Memberships, NewMembership)}
}

// NewCompany returns the wire form of c, with the relations c holds.
func NewCompany(c *userdata.Company) Company {
	return Company{Summary: companySummary(c), Users: related(c.Users, userSummary), Memberships: related(c.Memberships, NewMembership)}
}

// NewMembership returns the wire form of m, with its company and user if
// m holds them.
func NewMembership(m *userdata.Membership) Membership {
	ts := userdata.FormatTime(m.CreatedAt)
	out := Membership{ID: m.ID, Object: "companyMembership", Attributes: m.Attributes,
		CreatedAt: ts, CreatedAtAlias: ts, CompanyID: m.CompanyID, UserID: m.UserID}
	if m.Company != nil {
		s := companySummary(m.Company)
		out.Company = &s
	}
	if m.User != nil {
		s := userSummary(m.User)
		out.User = &s
	}
	return out
}

// related converts the relations of an object to wire form, keeping nil
// (not expanded: null on the wire) apart from empty.
func related[T, W any](items []T, f func(T) W) []W {
	if items == nil {
		return nil
	}
	return MapItems(items, f)
}

// NewAttributeDefinition returns the wire form of d.
func NewAttributeDefinition(d *userdata.AttributeDefinition) AttributeDefinition {
	ts := userdata.FormatTime(d.CreatedAt)
	return AttributeDefinition{d.ID, "attributeDefinition", ts, ts, d.DataType.String(), d.Description, d.DisplayName, d.CodeName, d.Scope.String()}
}

// NewEventDefinition returns the wire form of d.
func NewEventDefinition(d *userdata.EventDefinition) EventDefinition {
	ts := userdata.FormatTime(d.CreatedAt)
	return EventDefinition{d.ID, "eventDefinition", ts, ts, d.Description, d.DisplayName, d.CodeName}
}

// NewEvent returns the wire form of e: companyId is null without a company.
func NewEvent(e *userdata.Event) Event {
	ts := userdata.FormatTime(e.CreatedAt)
	out := Event{ID: e.ID, Object: "event", Name: e.Name, UserID: e.UserID, Attributes: e.Attributes, CreatedAt: ts, CreatedAtAlias: ts}
	if e.CompanyID != "" {
		out.CompanyID = &e.CompanyID
	}
	return out
}
