package userdata

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one tracked event of a user (§15.4).
type Event struct {
	ID         string // internal row id
	Name       string // the event definition's codeName
	UserID     string // external user id
	CompanyID  string // external company id; "" for none
	Attributes json.RawMessage
	CreatedAt  time.Time
	// DefinitionID is its event definition's id, when the store says
	// (a change of the log holds it).
	DefinitionID string
}

// EventInput is the body of POST /v1/events, decoded.
type EventInput struct {
	UserID     string // external
	Name       string
	CompanyID  string // external; "" for none
	Attributes Attributes
	Timestamp  *time.Time // nil: now
}

// Validate checks the rules of §15.4 and §15.1.
func (e *EventInput) Validate() error {
	if err := ValidateID("userId", e.UserID); err != nil {
		return err
	}
	if e.CompanyID != "" {
		if err := ValidateID("companyId", e.CompanyID); err != nil {
			return err
		}
	}
	if e.Name == "" || len(e.Name) > MaxCodeNameBytes {
		return Errorf(CodeInvalid, "name must be a non-empty string of at most %d bytes", MaxCodeNameBytes)
	}
	return ValidateAttributeKeys("attributes", e.Attributes)
}

// EventFilter selects a page of events.
type EventFilter struct {
	PageRequest
	UserID    string // external; "" for no filter
	CompanyID string // external; "" for no filter
	Name      string // "" for no filter
}

// EventDisplayName is the display name of an event definition or an event
// attribute created by tracking: the codeName title-cased word by word
// (flow_step_number becomes Flow Step Number).
func EventDisplayName(codeName string) string {
	words := strings.FieldsFunc(codeName, func(r rune) bool { return r == '_' || r == '-' || unicode.IsSpace(r) })
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[n:]
	}
	return strings.Join(words, " ")
}
