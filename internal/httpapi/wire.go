package httpapi

import (
	"encoding/json"

	"tourd/internal/userdata"
)

// summaryJSON is a nested user or company (§6.4), and the common head of
// the full objects.
type summaryJSON struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Attributes     json.RawMessage `json:"attributes"`
	CreatedAt      string          `json:"createdAt"`
	CreatedAtAlias string          `json:"created_at"`
}

// userJSON is a user (§6.1): relation keys are null unless expanded.
type userJSON struct {
	summaryJSON
	Companies   []summaryJSON    `json:"companies"`
	Memberships []membershipJSON `json:"memberships"`
}

// companyJSON is a company (§6.2).
type companyJSON struct {
	summaryJSON
	Users       []summaryJSON    `json:"users"`
	Memberships []membershipJSON `json:"memberships"`
}

// membershipJSON is a company membership (§6.3); company and user are
// absent unless expanded.
type membershipJSON struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Attributes     json.RawMessage `json:"attributes"`
	CreatedAt      string          `json:"createdAt"`
	CreatedAtAlias string          `json:"created_at"`
	CompanyID      string          `json:"companyId"`
	UserID         string          `json:"userId"`
	Company        *summaryJSON    `json:"company,omitempty"`
	User           *summaryJSON    `json:"user,omitempty"`
}

// attributeDefinitionJSON is an attribute definition (§6.5).
type attributeDefinitionJSON struct {
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

// eventDefinitionJSON is an event definition (§6.6).
type eventDefinitionJSON struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	CreatedAt      string `json:"createdAt"`
	CreatedAtAlias string `json:"created_at"`
	Description    string `json:"description"`
	DisplayName    string `json:"displayName"`
	CodeName       string `json:"codeName"`
}

// deletedJSON confirms a delete (§6.7).
type deletedJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func summary(object, externalID string, attrs json.RawMessage, createdAt string) summaryJSON {
	return summaryJSON{externalID, object, attrs, createdAt, createdAt}
}

func userSummary(u *userdata.User) summaryJSON {
	return summary("user", u.ExternalID, u.Attributes, userdata.FormatTime(u.CreatedAt))
}

func companySummary(c *userdata.Company) summaryJSON {
	return summary("company", c.ExternalID, c.Attributes, userdata.FormatTime(c.CreatedAt))
}

func toUser(u *userdata.User) userJSON {
	out := userJSON{summaryJSON: userSummary(u), Memberships: toMemberships(u.Memberships)}
	if u.Companies != nil {
		out.Companies = make([]summaryJSON, len(u.Companies))
		for i, c := range u.Companies {
			out.Companies[i] = companySummary(c)
		}
	}
	return out
}

func toCompany(c *userdata.Company) companyJSON {
	out := companyJSON{summaryJSON: companySummary(c), Memberships: toMemberships(c.Memberships)}
	if c.Users != nil {
		out.Users = make([]summaryJSON, len(c.Users))
		for i, u := range c.Users {
			out.Users[i] = userSummary(u)
		}
	}
	return out
}

// toMemberships keeps nil (not expanded) apart from empty.
func toMemberships(ms []*userdata.Membership) []membershipJSON {
	if ms == nil {
		return nil
	}
	out := make([]membershipJSON, len(ms))
	for i, m := range ms {
		ts := userdata.FormatTime(m.CreatedAt)
		out[i] = membershipJSON{ID: m.ID, Object: "companyMembership", Attributes: m.Attributes,
			CreatedAt: ts, CreatedAtAlias: ts, CompanyID: m.CompanyID, UserID: m.UserID}
		if m.Company != nil {
			s := companySummary(m.Company)
			out[i].Company = &s
		}
		if m.User != nil {
			s := userSummary(m.User)
			out[i].User = &s
		}
	}
	return out
}

func toAttributeDefinition(d *userdata.AttributeDefinition) attributeDefinitionJSON {
	ts := userdata.FormatTime(d.CreatedAt)
	return attributeDefinitionJSON{d.ID, "attributeDefinition", ts, ts, d.DataType.String(), d.Description, d.DisplayName, d.CodeName, d.Scope.String()}
}

func toEventDefinition(d *userdata.EventDefinition) eventDefinitionJSON {
	ts := userdata.FormatTime(d.CreatedAt)
	return eventDefinitionJSON{d.ID, "eventDefinition", ts, ts, d.Description, d.DisplayName, d.CodeName}
}

// mapItems converts a page's items to wire form.
func mapItems[T, W any](items []T, f func(T) W) []W {
	out := make([]W, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}
