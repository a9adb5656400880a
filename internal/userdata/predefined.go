package userdata

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed predefined.json
var predefinedJSON []byte

// PredefinedAttribute is an attribute definition every new project starts
// with (§8.6).
type PredefinedAttribute struct {
	Scope       Scope
	CodeName    string
	DisplayName string
	DataType    DataType
}

// PredefinedEvent is an event definition every new project starts with,
// with the codeNames of the event-scoped attributes linked to it.
type PredefinedEvent struct {
	CodeName    string
	DisplayName string
	Attributes  []string
}

// Predefined returns the definitions seeded into every new project, in the
// order of the contract's fixture.
func Predefined() ([]PredefinedAttribute, []PredefinedEvent) {
	return predefinedAttributes, predefinedEvents
}

var predefinedAttributes, predefinedEvents = mustParsePredefined()

func mustParsePredefined() ([]PredefinedAttribute, []PredefinedEvent) {
	var doc struct {
		AttributeDefinitions []struct {
			Scope, CodeName, DisplayName, DataType string
		}
		EventDefinitions []PredefinedEvent
	}
	if err := json.Unmarshal(predefinedJSON, &doc); err != nil {
		panic(fmt.Sprintf("userdata: predefined.json: %v", err))
	}
	attrs := make([]PredefinedAttribute, len(doc.AttributeDefinitions))
	for i, a := range doc.AttributeDefinitions {
		scope, ok1 := ParseScope(a.Scope)
		dt, ok2 := ParseDataType(a.DataType)
		if !ok1 || !ok2 {
			panic(fmt.Sprintf("userdata: predefined.json: bad scope or type in %+v", a))
		}
		attrs[i] = PredefinedAttribute{scope, a.CodeName, a.DisplayName, dt}
	}
	return attrs, doc.EventDefinitions
}
