// Package userdata holds tourd's domain: users, companies, memberships,
// attribute and event definitions, API keys, the validation rules of the v1
// contract, and the Store interface that every storage backend implements.
package userdata

import (
	"encoding/json"
	"time"
)

// Tenant is the scope an API key grants: one environment of one project.
// Users, companies and memberships belong to the environment; definitions
// belong to the project.
type Tenant struct {
	ProjectID     string
	EnvironmentID string
}

// User is an end user of the caller's product, identified by the caller's
// own id (ExternalID) within one environment.
type User struct {
	ID         string // internal row id
	ExternalID string
	Attributes json.RawMessage // a JSON object, never nil
	CreatedAt  time.Time

	// Companies holds company summaries, one per membership, when the
	// expansion was asked for; nil otherwise, non-nil (possibly empty) when
	// expanded.
	Companies []*Company
	// Memberships is nil unless expanded; each membership carries Company
	// when ExpandMembershipCompany was asked for.
	Memberships []*Membership
}

// Company is a customer account of the caller's product, identified by the
// caller's own id within one environment.
type Company struct {
	ID         string // internal row id
	ExternalID string
	Attributes json.RawMessage
	CreatedAt  time.Time

	// Users holds user summaries when expanded, nil otherwise.
	Users []*User
	// Memberships is nil unless expanded; each carries User when
	// ExpandMembershipUser was asked for.
	Memberships []*Membership
}

// Membership links a user to a company and carries its own attributes.
type Membership struct {
	ID         string // internal row id
	UserID     string // internal user row id
	CompanyID  string // internal company row id
	Attributes json.RawMessage
	CreatedAt  time.Time

	Company *Company // set only for ExpandMembershipCompany
	User    *User    // set only for ExpandMembershipUser
}

// APIKey is a stored key. The key itself is never stored, only its hash.
type APIKey struct {
	ID            string
	ProjectID     string
	Project       string // project name
	EnvironmentID string
	Environment   string // environment name
	Prefix        string // the first characters of the key, for operators
	Active        bool
	CreatedAt     time.Time
}
