package userdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SegmentKind says how a segment finds its members (segments.md §1).
type SegmentKind string

// The segment kinds.
const (
	// SegmentAll is the kind of the built-in segments: everyone in the
	// environment. They cannot be created, changed or deleted.
	SegmentAll SegmentKind = "all"
	// SegmentCondition segments hold the users or companies their
	// conditions match now; nothing is stored per member.
	SegmentCondition SegmentKind = "condition"
	// SegmentManual segments hold an explicit member list per environment.
	SegmentManual SegmentKind = "manual"
)

// Segment is a saved audience of a project: users or companies, as its
// BizType says. Its definition belongs to the project; its members (of a
// manual segment) to each environment.
type Segment struct {
	ID        string
	ProjectID string
	// Name is not unique, and kept as written (not trimmed).
	Name    string
	BizType Scope // ScopeUser or ScopeCompany
	Kind    SegmentKind
	// Conditions are a condition segment's conditions: a JSON array, as
	// written (compacted); nil for the other kinds.
	Conditions json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// BuiltInSegment is one of the segments of kind all that every project
// has, made with the project.
type BuiltInSegment struct {
	Name    string
	BizType Scope
}

// BuiltInSegments are the built-in segments of every project, in the order
// they are made. The migrations that added segments made them for the
// projects that existed (SQLite's 0008, PostgreSQL's 0009): keep them in
// step.
var BuiltInSegments = [...]BuiltInSegment{{"All Users", ScopeUser}, {"All Companies", ScopeCompany}}

// ParseSegmentBizType maps a wire bizType ("user", "company") to its
// scope. It returns false for any other value.
func ParseSegmentBizType(name string) (Scope, bool) {
	switch name {
	case "user":
		return ScopeUser, true
	case "company":
		return ScopeCompany, true
	}
	return 0, false
}

// SegmentBizTypes are the wire values of bizType, for messages.
const SegmentBizTypes = "user, company"

// SegmentInput is a new segment (v2 POST segments).
type SegmentInput struct {
	Name    string
	BizType Scope
	// Kind is SegmentCondition or SegmentManual: the built-in segments
	// are the only ones of kind all.
	Kind SegmentKind
	// Conditions, of a condition segment, are a JSON array; nil stands for
	// [] (everyone). A manual segment takes none, not even [].
	Conditions json.RawMessage
}

// Validate checks the input's fields (segments.md §1, §2). The conditions
// are only checked to be a JSON array; their grammar and their attributes
// are the caller's to check.
func (in *SegmentInput) Validate() error {
	if err := checkText("name", in.Name, true, 0); err != nil {
		return err
	}
	if in.BizType != ScopeUser && in.BizType != ScopeCompany {
		return Errorf(CodeInvalid, "bizType must be one of the following values: %s", SegmentBizTypes)
	}
	if in.Kind != SegmentCondition && in.Kind != SegmentManual {
		return Errorf(CodeInvalid, "kind must be one of the following values: condition, manual")
	}
	if err := checkConditions(in.Conditions); err != nil {
		return err
	}
	if in.Kind == SegmentManual && in.Conditions != nil {
		return ErrManualConditions
	}
	return nil
}

// StoredConditions returns the conditions a segment made from the input
// keeps: those given, compacted, or [] for a condition segment without
// any; nil for a manual segment.
func (in *SegmentInput) StoredConditions() json.RawMessage {
	if in.Kind != SegmentCondition {
		return nil
	}
	if in.Conditions == nil {
		return json.RawMessage("[]")
	}
	return compactJSON(in.Conditions)
}

// SegmentUpdate is a change to a segment (v2 PATCH segments/{id}); nil
// fields are left as they are. bizType and kind never change.
type SegmentUpdate struct {
	Name *string
	// Conditions, when not nil, replace a condition segment's conditions:
	// a JSON array, checked as SegmentInput.Conditions.
	Conditions *json.RawMessage
}

// Validate checks the fields given.
func (u *SegmentUpdate) Validate() error {
	if u.Name != nil {
		if err := checkText("name", *u.Name, true, 0); err != nil {
			return err
		}
	}
	if u.Conditions != nil {
		if *u.Conditions == nil {
			return errConditionsArray
		}
		return checkConditions(*u.Conditions)
	}
	return nil
}

// CheckUpdate returns why u cannot change s, if it cannot: ErrBuiltInSegment
// for a built-in segment (whatever u holds, {} included), then
// ErrConditionsNotAllowed when u sets the conditions of a segment that is
// not a condition segment.
func (s *Segment) CheckUpdate(u *SegmentUpdate) error {
	if s.Kind == SegmentAll {
		return ErrBuiltInSegment
	}
	if u.Conditions != nil && s.Kind != SegmentCondition {
		return ErrConditionsNotAllowed
	}
	return nil
}

// Apply returns s with u applied (u must have passed CheckUpdate), its
// UpdatedAt set to now; an update that sets nothing returns s unchanged.
func (s *Segment) Apply(u *SegmentUpdate, now time.Time) *Segment {
	if u.Name == nil && u.Conditions == nil {
		return s
	}
	out := *s
	if u.Name != nil {
		out.Name = *u.Name
	}
	if u.Conditions != nil {
		out.Conditions = compactJSON(*u.Conditions)
	}
	out.UpdatedAt = now
	return &out
}

// CheckDelete returns ErrBuiltInSegment for a built-in segment.
func (s *Segment) CheckDelete() error {
	if s.Kind == SegmentAll {
		return ErrBuiltInSegment
	}
	return nil
}

// CheckMembers returns ErrNotManual unless s is a manual segment, the only
// kind whose members are managed one by one.
func (s *Segment) CheckMembers() error {
	if s.Kind != SegmentManual {
		return ErrNotManual
	}
	return nil
}

// SegmentFilter selects a page of a project's segments (the built-in ones
// included).
type SegmentFilter struct {
	PageRequest
	BizType Scope // 0 for both
	// Name keeps the segments whose name contains it once trimmed of white
	// space, ignoring the case of ASCII letters as
	// AttributeDefinitionFilter.Name does; blank for no filter.
	Name string
}

// NameFilter is the text the Name filter looks for: Name trimmed.
func (f *SegmentFilter) NameFilter() string { return strings.TrimSpace(f.Name) }

// The errors of segments (segments.md §2), with Usertour's messages.
var (
	// ErrBuiltInSegment refuses to change or delete a built-in segment:
	// v2's 409 E1037.
	ErrBuiltInSegment error = &Error{Code: CodeBuiltIn,
		Message: `The built-in "all" segment cannot be modified or deleted — create a condition segment if you need a filtered audience.`}
	// ErrManualConditions refuses a new manual segment with conditions.
	ErrManualConditions error = &Error{Code: CodeInvalid,
		Message: "A manual segment cannot carry `conditions` — its members are managed explicitly. Use kind \"condition\" for a filtered segment."}
	// ErrConditionsNotAllowed refuses new conditions for a segment that
	// is not a condition segment.
	ErrConditionsNotAllowed error = &Error{Code: CodeInvalid, Message: "Conditions can only be set on a condition segment."}
	// ErrNotManual refuses to manage the members of a segment that is not
	// a manual segment.
	ErrNotManual error = &Error{Code: CodeInvalid, Message: "Members can only be managed on a manual segment."}

	errConditionsArray = Errorf(CodeInvalid, "conditions must be an array")
)

// MemberNotFound is the error of a member, given by external id, that is
// not a user (or company, as the segment's bizType says) of the
// environment: CodeNotFound for ResourceUser (ResourceCompany), whose
// Detail names the segment's bizType.
func MemberNotFound(bizType Scope, externalID string) error {
	if bizType == ScopeCompany {
		return &Error{Code: CodeNotFound, Resource: ResourceCompany, Message: "company not found",
			Detail: fmt.Sprintf("this is a COMPANY segment, and externalId %q does not exist among companies in this environment (to manage a user, target a user segment)", externalID)}
	}
	return &Error{Code: CodeNotFound, Resource: ResourceUser, Message: "user not found",
		Detail: fmt.Sprintf("this is a USER segment, and externalId %q does not exist among users in this environment (to manage a company, target a company segment)", externalID)}
}

// checkConditions returns a CodeInvalid error unless raw is nil or a JSON
// array.
func checkConditions(raw json.RawMessage) error {
	if raw == nil {
		return nil
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || !json.Valid(t) {
		return errConditionsArray
	}
	return nil
}

// compactJSON returns raw, valid JSON, without insignificant white space.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
