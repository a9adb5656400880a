package apiv2

import (
	"encoding/json"
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// The routes of attribute and event definitions (v2.md §6, §8).

// attributeDefinitionJSON is v1's attribute definition object plus
// predefined (v2.md §2).
type attributeDefinitionJSON struct {
	wire.AttributeDefinition
	Predefined bool `json:"predefined"`
}

func newAttributeDefinition(d *userdata.AttributeDefinition) attributeDefinitionJSON {
	return attributeDefinitionJSON{wire.NewAttributeDefinition(d), d.Predefined}
}

// eventDefinitionJSON is v1's event definition object plus predefined and
// the codeNames of its attributes.
type eventDefinitionJSON struct {
	wire.EventDefinition
	Predefined bool     `json:"predefined"`
	Attributes []string `json:"attributes"`
}

func newEventDefinition(d *userdata.EventDefinition) eventDefinitionJSON {
	attrs := d.Attributes
	if attrs == nil {
		attrs = []string{}
	}
	return eventDefinitionJSON{wire.NewEventDefinition(d), d.Predefined, attrs}
}

// definitionScopes are the values of the scope filter and field.
const definitionScopes = "user, company, companyMembership, eventDefinition"

func (a *api) listAttributeDefinitions(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.AttributeDefinitionFilter
	if f.PageRequest, err = page(q, wire.DefinitionOrder, wire.DefinitionOrderNames, "displayName"); err != nil {
		return 0, nil, err
	}
	scope, present, err := q.Single("scope")
	if err != nil {
		return 0, nil, err
	}
	if present {
		var ok bool
		if f.Scope, ok = userdata.ParseScope(scope); !ok {
			return 0, nil, userdata.Errorf(userdata.CodeInvalidScope, "Invalid scope parameter: scope must be one of %s", definitionScopes)
		}
	}
	if f.EventNames, err = q.List("eventName", false); err != nil {
		return 0, nil, err
	}
	if f.Name, _, err = q.Single("name"); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListAttributeDefinitions(rq.Context(), userdata.Tenant{ProjectID: rq.projectID}, f)
	return listAnswer(rq, q, l, err, f.Limit, newAttributeDefinition)
}

func (a *api) getAttributeDefinition(rq *request) (int, any, error) {
	d, err := a.store.GetAttributeDefinition(rq.Context(), rq.projectID, rq.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAttributeDefinition(d), nil
}

func (a *api) createAttributeDefinition(rq *request) (int, any, error) {
	o, err := rq.object("scope", "dataType", "codeName", "displayName", "description")
	if err != nil {
		return 0, nil, err
	}
	var in userdata.AttributeDefinitionInput
	scope, err := required(o, "scope")
	if err != nil {
		return 0, nil, err
	}
	var ok bool
	if in.Scope, ok = userdata.ParseScope(scope); !ok {
		return 0, nil, userdata.Errorf(userdata.CodeInvalid, "scope must be one of the following values: %s", definitionScopes)
	}
	dataType, err := required(o, "dataType")
	if err != nil {
		return 0, nil, err
	}
	in.DataType, _ = userdata.ParseDataType(dataType) // Validate refuses what is not creatable
	if in.CodeName, in.DisplayName, in.Description, err = newTexts(o); err != nil {
		return 0, nil, err
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	d, err := a.store.CreateAttributeDefinition(rq.Context(), rq.projectID, &in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newAttributeDefinition(d), nil
}

func (a *api) updateAttributeDefinition(rq *request) (int, any, error) {
	o, err := rq.object("displayName", "description", "dataType")
	if err != nil {
		return 0, nil, err
	}
	var u userdata.AttributeDefinitionUpdate
	if u.DisplayName, u.Description, err = changedTexts(o); err != nil {
		return 0, nil, err
	}
	dataType, err := optional(o, "dataType")
	if err != nil {
		return 0, nil, err
	}
	if dataType != nil {
		t, _ := userdata.ParseDataType(*dataType) // Validate refuses what is not creatable
		u.DataType = &t
	}
	if err := u.Validate(); err != nil {
		return 0, nil, err
	}
	d, err := a.store.UpdateAttributeDefinition(rq.Context(), rq.projectID, rq.PathValue("id"), &u)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAttributeDefinition(d), nil
}

func (a *api) deleteAttributeDefinition(rq *request) (int, any, error) {
	return http.StatusNoContent, nil, a.store.DeleteAttributeDefinition(rq.Context(), rq.projectID, rq.PathValue("id"))
}

func (a *api) listEventDefinitions(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.EventDefinitionFilter
	if f.PageRequest, err = page(q, wire.DefinitionOrder, wire.DefinitionOrderNames, "createdAt", "codeName", "displayName"); err != nil {
		return 0, nil, err
	}
	if f.Name, _, err = q.Single("name"); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListEventDefinitions(rq.Context(), userdata.Tenant{ProjectID: rq.projectID}, f)
	return listAnswer(rq, q, l, err, f.Limit, newEventDefinition)
}

func (a *api) getEventDefinition(rq *request) (int, any, error) {
	d, err := a.store.GetEventDefinition(rq.Context(), rq.projectID, rq.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newEventDefinition(d), nil
}

func (a *api) createEventDefinition(rq *request) (int, any, error) {
	o, err := rq.object("codeName", "displayName", "description", "attributes")
	if err != nil {
		return 0, nil, err
	}
	var in userdata.EventDefinitionInput
	if in.CodeName, in.DisplayName, in.Description, err = newTexts(o); err != nil {
		return 0, nil, err
	}
	attrs, err := names(o, "attributes")
	if err != nil {
		return 0, nil, err
	}
	if attrs != nil {
		in.Attributes = *attrs
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	d, err := a.store.CreateEventDefinition(rq.Context(), rq.projectID, &in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newEventDefinition(d), nil
}

func (a *api) updateEventDefinition(rq *request) (int, any, error) {
	o, err := rq.object("displayName", "description", "attributes")
	if err != nil {
		return 0, nil, err
	}
	var u userdata.EventDefinitionUpdate
	if u.DisplayName, u.Description, err = changedTexts(o); err != nil {
		return 0, nil, err
	}
	if u.Attributes, err = names(o, "attributes"); err != nil {
		return 0, nil, err
	}
	if err := u.Validate(); err != nil {
		return 0, nil, err
	}
	d, err := a.store.UpdateEventDefinition(rq.Context(), rq.projectID, rq.PathValue("id"), &u)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newEventDefinition(d), nil
}

func (a *api) deleteEventDefinition(rq *request) (int, any, error) {
	return http.StatusNoContent, nil, a.store.DeleteEventDefinition(rq.Context(), rq.projectID, rq.PathValue("id"))
}

// newTexts decodes the codeName, displayName and description (optional)
// of a new definition.
func newTexts(o wire.Object) (codeName, displayName, description string, err error) {
	if codeName, err = required(o, "codeName"); err != nil {
		return "", "", "", err
	}
	if displayName, err = required(o, "displayName"); err != nil {
		return "", "", "", err
	}
	d, err := optional(o, "description")
	if d != nil {
		description = *d
	}
	return codeName, displayName, description, err
}

// changedTexts decodes the displayName and description a PATCH may give.
func changedTexts(o wire.Object) (displayName, description *string, err error) {
	if displayName, err = optional(o, "displayName"); err != nil {
		return nil, nil, err
	}
	description, err = optional(o, "description")
	return displayName, description, err
}

// required decodes a string member that must be present.
func required(o wire.Object, name string) (string, error) {
	if _, present := o[name]; !present {
		return "", userdata.Errorf(userdata.CodeInvalid, "%s is required", name)
	}
	return o.Str(name)
}

// optional decodes a string member that may be absent (nil); null is not
// a string.
func optional(o wire.Object, name string) (*string, error) {
	if _, present := o[name]; !present {
		return nil, nil
	}
	s, err := o.Str(name)
	return &s, err
}

// names decodes a member that may be absent (nil) or an array of strings.
func names(o wire.Object, name string) (*[]string, error) {
	raw, present := o[name]
	if !present {
		return nil, nil
	}
	var list []string
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an array of strings", name)
	}
	for _, s := range list {
		if err := wire.CheckNoNUL(name, s); err != nil {
			return nil, err
		}
	}
	return &list, nil
}
