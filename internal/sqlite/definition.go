package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"tourd/internal/userdata"
)

// defKey identifies an attribute definition.
type defKey struct {
	project  string
	scope    userdata.Scope
	codeName string
}

// ensureDefinitions creates the missing definitions for a's non-null keys
// (§8.2), with the type inferred from this value. Definitions known to exist
// are skipped without a query; the others are inserted if absent.
//
// A data_type given for a key must match its existing definition, if any:
// data_type never retypes (operations.md §3).
func (w *wtx) ensureDefinitions(project string, scope userdata.Scope, a userdata.Attributes) error {
	for _, k := range a.TypedKeys() {
		var defined int
		err := w.q.QueryRowContext(w.ctx, "SELECT data_type FROM attribute_definitions WHERE project_id = ? AND scope = ? AND code_name = ?",
			project, int(scope), k).Scan(&defined)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err == nil {
			err = a.CheckDefinitionType(k, userdata.DataType(defined))
		}
		if err != nil {
			return err
		}
	}
	for _, k := range a.Keys() {
		key := defKey{project, scope, k}
		if _, ok := w.s.defs[key]; ok {
			continue
		}
		if _, err := w.exec(`INSERT INTO attribute_definitions
			(id, project_id, scope, code_name, display_name, data_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, scope, code_name) DO NOTHING`,
			userdata.NewID(), project, int(scope), k, userdata.DisplayName(scope, k), int(userdata.DefinitionType(a[k])), micros(w.now)); err != nil {
			return err
		}
		w.newDefs = append(w.newDefs, key)
	}
	return nil
}

// seedProject inserts a new project's predefined definitions and links
// (§8.6), in the fixture's order, and its built-in segments.
func (w *wtx) seedProject(project string) error {
	if err := w.seedSegments(project); err != nil {
		return err
	}
	attrs, events := userdata.Predefined()
	eventAttr := map[string]string{} // codeName -> id of eventDefinition-scoped attributes
	for _, a := range attrs {
		id := userdata.NewID()
		if _, err := w.exec(`INSERT INTO attribute_definitions
			(id, project_id, scope, code_name, display_name, data_type, predefined, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
			id, project, int(a.Scope), a.CodeName, a.DisplayName, int(a.DataType), micros(w.now)); err != nil {
			return err
		}
		if a.Scope == userdata.ScopeEvent {
			eventAttr[a.CodeName] = id
		}
	}
	for _, e := range events {
		id := userdata.NewID()
		if _, err := w.exec(`INSERT INTO event_definitions
			(id, project_id, code_name, display_name, predefined, created_at) VALUES (?, ?, ?, ?, 1, ?)`,
			id, project, e.CodeName, e.DisplayName, micros(w.now)); err != nil {
			return err
		}
		for _, a := range e.Attributes {
			if _, err := w.exec(`INSERT INTO event_definition_attributes
				(event_definition_id, attribute_definition_id) VALUES (?, ?)`, id, eventAttr[a]); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListAttributeDefinitions returns a page of the project's attribute
// definitions.
func (s *Store) ListAttributeDefinitions(ctx context.Context, tn userdata.Tenant, f userdata.AttributeDefinitionFilter) (*userdata.List[*userdata.AttributeDefinition], error) {
	l := listing{table: "attribute_definitions", scopeCol: "project_id", scope: tn.ProjectID}
	if f.Scope != 0 {
		l.where("scope = ?", int(f.Scope))
	}
	if len(f.EventNames) > 0 {
		args := []any{tn.ProjectID}
		for _, n := range f.EventNames {
			args = append(args, n)
		}
		l.where(`id IN (SELECT l.attribute_definition_id FROM event_definition_attributes l
			JOIN event_definitions e ON e.id = l.event_definition_id
			WHERE e.project_id = ? AND e.code_name IN (?`+strings.Repeat(", ?", len(f.EventNames)-1)+`))`, args...)
	}
	l.whereNameContains(f.Name, "code_name", "display_name")
	defs, err := list(ctx, s.r, &l, f.PageRequest, attributeDefinitionColumns,
		func(r scanner) (*userdata.AttributeDefinition, string, error) {
			d, err := scanAttributeDefinition(r)
			if err != nil {
				return nil, "", err
			}
			return d, d.ID, nil
		})
	return defs, s.fault(err)
}

// ListEventDefinitions returns a page of the project's event definitions.
func (s *Store) ListEventDefinitions(ctx context.Context, tn userdata.Tenant, f userdata.EventDefinitionFilter) (*userdata.List[*userdata.EventDefinition], error) {
	l := listing{table: "event_definitions", scopeCol: "project_id", scope: tn.ProjectID}
	l.whereNameContains(f.Name, "code_name", "display_name")
	defs, err := list(ctx, s.r, &l, f.PageRequest, eventDefinitionColumns,
		func(r scanner) (*userdata.EventDefinition, string, error) {
			d, err := scanEventDefinition(r)
			if err != nil {
				return nil, "", err
			}
			return d, d.ID, nil
		})
	return defs, s.fault(err)
}
