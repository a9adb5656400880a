// Package segment is the one place that knows segment condition trees
// (segments.md §3, §5): their v2 representation, parsed strictly and
// validated against a project's attribute definitions; a reference
// evaluator over one user or company in Go; and a compiler that turns a
// tree into a WHERE clause for SQLite and for PostgreSQL. The evaluator
// states the rules; property tests hold both compilers to it.
package segment

import (
	"slices"

	"tourd/internal/userdata"
)

// Kind says what a Condition is.
type Kind string

// The kinds of condition. Only attributes and groups can be written;
// unsupported placeholders appear on the read side (ReadBack).
const (
	KindAttribute   Kind = "attribute"
	KindGroup       Kind = "group"
	KindUnsupported Kind = "unsupported"
)

// GroupMatch says how a group joins its conditions.
type GroupMatch string

// The matches of a group.
const (
	MatchAll GroupMatch = "all"
	MatchAny GroupMatch = "any"
)

// Op is the operator of an attribute condition.
type Op string

// The operators (segments.md §3.1). Which of them apply depends on the data
// type of the attribute (AllowedOps).
const (
	OpIs             Op = "is"
	OpNot            Op = "not"
	OpContains       Op = "contains"
	OpNotContains    Op = "not_contains"
	OpStartsWith     Op = "starts_with"
	OpEndsWith       Op = "ends_with"
	OpAny            Op = "any"
	OpEmpty          Op = "empty"
	OpLt             Op = "lt"
	OpLte            Op = "lte"
	OpGt             Op = "gt"
	OpGte            Op = "gte"
	OpBetween        Op = "between"
	OpTrue           Op = "true"
	OpFalse          Op = "false"
	OpIncludesAny    Op = "includes_any"
	OpIncludesAll    Op = "includes_all"
	OpNotIncludesAny Op = "not_includes_any"
	OpNotIncludesAll Op = "not_includes_all"
	OpLessThan       Op = "less_than"
	OpExactly        Op = "exactly"
	OpMoreThan       Op = "more_than"
	OpBefore         Op = "before"
	OpOn             Op = "on"
	OpAfter          Op = "after"
)

// ops lists every operator, in the order of the wire enum.
var ops = []Op{
	OpIs, OpNot, OpContains, OpNotContains, OpStartsWith, OpEndsWith, OpAny, OpEmpty,
	OpLt, OpLte, OpGt, OpGte, OpBetween, OpTrue, OpFalse,
	OpIncludesAny, OpIncludesAll, OpNotIncludesAny, OpNotIncludesAll,
	OpLessThan, OpExactly, OpMoreThan, OpBefore, OpOn, OpAfter,
}

// allowedOps are the operators of each data type, as Usertour's builder
// offers them (OPERATORS_BY_DATATYPE of @usertour/helpers), in its order.
var allowedOps = map[userdata.DataType][]Op{
	userdata.DataTypeString:   {OpIs, OpNot, OpContains, OpNotContains, OpStartsWith, OpEndsWith, OpAny, OpEmpty},
	userdata.DataTypeNumber:   {OpIs, OpNot, OpLt, OpLte, OpGt, OpGte, OpBetween, OpAny, OpEmpty},
	userdata.DataTypeBoolean:  {OpTrue, OpFalse, OpAny, OpEmpty},
	userdata.DataTypeList:     {OpIncludesAny, OpIncludesAll, OpNotIncludesAny, OpNotIncludesAll, OpAny, OpEmpty},
	userdata.DataTypeDatetime: {OpLessThan, OpExactly, OpMoreThan, OpBefore, OpOn, OpAfter, OpAny, OpEmpty},
}

// AllowedOps returns the operators a condition on an attribute of data
// type t may use. The internal object type reads as "string" on the wire
// and takes the string operators; the random types take none.
func AllowedOps(t userdata.DataType) []Op {
	return slices.Clone(allowedOps[evalType(t)])
}

// evalType is the type t is evaluated as: the object type as a string.
func evalType(t userdata.DataType) userdata.DataType {
	if t == userdata.DataTypeObject {
		return userdata.DataTypeString
	}
	return t
}

// Condition is one element of a condition tree: an attribute condition (a
// leaf), a group of conditions, or the placeholder of a leaf that can no
// longer be evaluated. The zero values of the fields that do not apply to
// its Kind are unused.
type Condition struct {
	Kind Kind

	// Attribute conditions: the attribute's scope and codeName, the
	// operator, and its operands as written. Value and Value2 are nil when
	// absent, Values when absent (an empty, non-nil Values was written as
	// []).
	Scope     userdata.Scope
	Attribute string
	Op        Op
	Value     *string
	Value2    *string
	Values    []string

	// Groups: how the conditions are joined, and the conditions.
	Match      GroupMatch
	Conditions []Condition

	// Unsupported placeholders: why the condition stands there.
	Note string
}

// Definitions gives the live attribute definitions of a project.
type Definitions interface {
	// DataType returns the data type of the definition of codeName in
	// scope, and false when the project has none.
	DataType(scope userdata.Scope, codeName string) (userdata.DataType, bool)
}

// DefinitionsFunc adapts a function to Definitions.
type DefinitionsFunc func(scope userdata.Scope, codeName string) (userdata.DataType, bool)

// DataType calls f.
func (f DefinitionsFunc) DataType(scope userdata.Scope, codeName string) (userdata.DataType, bool) {
	return f(scope, codeName)
}

// DefinitionKey names an attribute definition within a project.
type DefinitionKey struct {
	Scope    userdata.Scope
	CodeName string
}

// DefinitionMap is a Definitions held in memory.
type DefinitionMap map[DefinitionKey]userdata.DataType

// DataType returns the type of the definition (scope, codeName).
func (m DefinitionMap) DataType(scope userdata.Scope, codeName string) (userdata.DataType, bool) {
	t, ok := m[DefinitionKey{scope, codeName}]
	return t, ok
}

// NewDefinitionMap returns the definitions defs, such as a store lists
// them; those of the event scope are left out, as no condition names them.
func NewDefinitionMap(defs []*userdata.AttributeDefinition) DefinitionMap {
	m := make(DefinitionMap, len(defs))
	for _, d := range defs {
		if d.Scope != userdata.ScopeEvent {
			m[DefinitionKey{d.Scope, d.CodeName}] = d.DataType
		}
	}
	return m
}
