package userdata

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AttributeDefinition describes one attribute codeName in one scope of a
// project.
type AttributeDefinition struct {
	ID          string
	Scope       Scope
	CodeName    string
	DisplayName string
	Description string
	DataType    DataType
	// Predefined marks the definitions every project is seeded with: they
	// cannot be changed or deleted (v2.md §8).
	Predefined bool
	CreatedAt  time.Time
}

// EventDefinition describes one event codeName of a project.
type EventDefinition struct {
	ID          string
	CodeName    string
	DisplayName string
	Description string
	Predefined  bool
	CreatedAt   time.Time
	// Attributes are the codeNames of the eventDefinition-scoped attribute
	// definitions linked to the event, in byte order; never nil.
	Attributes []string
}

// The codeName rule of the v2 API (usertour-v2.openapi.json): a letter,
// then letters, digits or underscores, MinCodeName to MaxCodeName
// characters.
const (
	MinCodeName = 2
	MaxCodeName = 100
)

// CheckCodeName returns a CodeInvalid error naming field unless s follows
// the codeName rule.
func CheckCodeName(field, s string) error {
	ok := len(s) >= MinCodeName && len(s) <= MaxCodeName && isASCIILetter(s[0])
	for i := 1; ok && i < len(s); i++ {
		c := s[i]
		ok = isASCIILetter(c) || c >= '0' && c <= '9' || c == '_'
	}
	if !ok {
		return Errorf(CodeInvalid, "%s must start with a letter, then letters, digits or underscores, %d to %d characters",
			field, MinCodeName, MaxCodeName)
	}
	return nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkText returns a CodeInvalid error naming field unless s is text both
// backends store alike: valid UTF-8 without NUL characters (which
// PostgreSQL cannot store), at most max bytes when max > 0, and not empty
// when required.
func checkText(field, s string, required bool, max int) error {
	switch {
	case required && s == "":
		return Errorf(CodeInvalid, "%s must not be empty", field)
	case max > 0 && len(s) > max:
		return Errorf(CodeInvalid, "%s must be at most %d bytes", field, max)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return Errorf(CodeInvalid, "%s must be valid UTF-8 without NUL characters", field)
	}
	return nil
}

// MaxDisplayName bounds display names in bytes: they are indexed, and an
// index entry of PostgreSQL must stay under about 2.7 kB.
const MaxDisplayName = 255

// Creatable reports whether a definition may be given type d through the
// API: the five value types, not the system's random_ab and random_number
// nor the internal object type.
func (d DataType) Creatable() bool { return d >= DataTypeNumber && d <= DataTypeDatetime }

// AttributeDefinitionInput is a new attribute definition (v2 POST
// attribute-definitions).
type AttributeDefinitionInput struct {
	Scope       Scope
	DataType    DataType
	CodeName    string
	DisplayName string
	Description string
}

// Validate checks the input's fields (v2.md §8).
func (in *AttributeDefinitionInput) Validate() error {
	if in.Scope.String() == "" {
		return Errorf(CodeInvalid, "scope must be one of user, company, companyMembership, eventDefinition")
	}
	if err := checkDataType(in.DataType); err != nil {
		return err
	}
	if err := CheckCodeName("codeName", in.CodeName); err != nil {
		return err
	}
	if err := checkText("displayName", in.DisplayName, true, MaxDisplayName); err != nil {
		return err
	}
	return checkText("description", in.Description, false, 0)
}

func checkDataType(d DataType) error {
	if !d.Creatable() {
		return Errorf(CodeInvalid, "dataType must be one of string, number, boolean, list, datetime")
	}
	return nil
}

// AttributeDefinitionUpdate is a change to an attribute definition (v2
// PATCH attribute-definitions/{id}); nil fields are left as they are.
type AttributeDefinitionUpdate struct {
	DisplayName *string
	Description *string
	// DataType retypes the definition, if every stored value fits the new
	// type (ValueFits).
	DataType *DataType
}

// Validate checks the fields given.
func (u *AttributeDefinitionUpdate) Validate() error {
	if u.DataType != nil {
		if err := checkDataType(*u.DataType); err != nil {
			return err
		}
	}
	return checkTexts(u.DisplayName, u.Description)
}

// checkTexts checks the displayName and description an update gives.
func checkTexts(displayName, description *string) error {
	if displayName != nil {
		if err := checkText("displayName", *displayName, true, MaxDisplayName); err != nil {
			return err
		}
	}
	if description != nil {
		return checkText("description", *description, false, 0)
	}
	return nil
}

// EventDefinitionInput is a new event definition (v2 POST
// event-definitions).
type EventDefinitionInput struct {
	CodeName    string
	DisplayName string
	Description string
	// Attributes are codeNames of existing eventDefinition-scoped attribute
	// definitions to link to the event; repeats count once.
	Attributes []string
}

// Validate checks the input's fields. Its attributes are only checked by
// the store, against the definitions that exist.
func (in *EventDefinitionInput) Validate() error {
	if err := CheckCodeName("codeName", in.CodeName); err != nil {
		return err
	}
	if err := checkText("displayName", in.DisplayName, true, MaxDisplayName); err != nil {
		return err
	}
	return checkText("description", in.Description, false, 0)
}

// EventDefinitionUpdate is a change to an event definition (v2 PATCH
// event-definitions/{id}); nil fields are left as they are.
type EventDefinitionUpdate struct {
	DisplayName *string
	Description *string
	// Attributes, when not nil, replace the linked attributes (an empty
	// list unlinks them all), as EventDefinitionInput.Attributes.
	Attributes *[]string
}

// Validate checks the fields given.
func (u *EventDefinitionUpdate) Validate() error { return checkTexts(u.DisplayName, u.Description) }

// UniqueNames returns names without repeats, in first-seen order.
func UniqueNames(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// DefinitionExists is the error of creating an attribute definition whose
// (scope, codeName) the project already has.
func DefinitionExists(scope Scope, codeName string) error {
	return &Error{Code: CodeConflict, Resource: ResourceAttributeDefinition,
		Message: fmt.Sprintf("An attribute definition with codeName %q already exists in scope %s", codeName, scope)}
}

// EventDefinitionExists is the error of creating an event definition whose
// codeName the project already has.
func EventDefinitionExists(codeName string) error {
	return &Error{Code: CodeConflict, Resource: ResourceEventDefinition,
		Message: fmt.Sprintf("An event definition with codeName %q already exists", codeName)}
}

// ErrPredefined is the error of changing or deleting a predefined
// definition (v2.md §8).
var ErrPredefined error = &Error{Code: CodePredefined,
	Message: "Predefined definitions cannot be modified or deleted — create your own definition instead."}

// ErrEventRecorded is the error of deleting an event definition of which
// the project has recorded events.
var ErrEventRecorded error = &Error{Code: CodeInUse,
	Message: "Cannot delete an event definition that has recorded events. Trackers or usertour.track() calls have already logged events against it."}

// SortedNames returns names sorted in byte order, never nil: the
// Attributes of an event definition linked to the attributes names.
func SortedNames(names []string) []string {
	out := make([]string, len(names))
	copy(out, names)
	slices.Sort(out)
	return out
}

// EventAttributeIDs returns the ids of the attribute definitions names
// (UniqueNames of an event definition's Attributes) given found, the ids
// of those among them that are eventDefinition-scoped definitions of the
// project by codeName; or a CodeInvalid error naming the others.
func EventAttributeIDs(names []string, found map[string]string) ([]string, error) {
	ids := make([]string, 0, len(names))
	var missing []string
	for _, n := range names {
		if id, ok := found[n]; ok {
			ids = append(ids, id)
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, Errorf(CodeInvalid, "Unknown event attribute codeName(s): %s", strings.Join(missing, ", "))
	}
	return ids, nil
}
