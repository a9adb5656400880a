package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"tourd/internal/userdata"
)

// eventDefinitionColumns are the columns scanEventDefinition reads, from
// event_definitions: the codeNames of the linked attributes as a JSON
// array.
const eventDefinitionColumns = `id, code_name, display_name, description, predefined, created_at,
	(SELECT json_group_array(a.code_name) FROM event_definition_attributes l
		JOIN attribute_definitions a ON a.id = l.attribute_definition_id
		WHERE l.event_definition_id = event_definitions.id)`

func scanEventDefinition(r scanner) (*userdata.EventDefinition, error) {
	var d userdata.EventDefinition
	var created int64
	var attrs string
	if err := r.Scan(&d.ID, &d.CodeName, &d.DisplayName, &d.Description, &d.Predefined, &created, &attrs); err != nil {
		return nil, err
	}
	d.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(attrs), &d.Attributes); err != nil {
		return nil, fmt.Errorf("sqlite: attributes of event definition %s: %w", d.ID, err)
	}
	slices.Sort(d.Attributes) // json_group_array promises no order
	return &d, nil
}

// eventDefinition reads an event definition of a project, or returns
// CodeNotFound for ResourceEventDefinition.
func eventDefinition(ctx context.Context, q querier, projectID, id string) (*userdata.EventDefinition, error) {
	d, err := scanEventDefinition(q.QueryRowContext(ctx,
		"SELECT "+eventDefinitionColumns+" FROM event_definitions WHERE project_id = ? AND id = ?", projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceEventDefinition)
	}
	return d, err
}

// writableEventDefinition reads an event definition of a project that may
// be changed: CodeNotFound, then CodePredefined.
func (w *wtx) writableEventDefinition(projectID, id string) (*userdata.EventDefinition, error) {
	d, err := eventDefinition(w.ctx, w.q, projectID, id)
	if err == nil && d.Predefined {
		err = userdata.ErrPredefined
	}
	return d, err
}

// GetEventDefinition returns an event definition of a project.
func (s *Store) GetEventDefinition(ctx context.Context, projectID, id string) (*userdata.EventDefinition, error) {
	d, err := eventDefinition(ctx, s.r, projectID, id)
	return d, s.fault(err)
}

// eventAttributeIDs returns the ids of the eventDefinition-scoped
// attribute definitions of a project named by names (userdata.UniqueNames),
// or a CodeInvalid error naming those that are not (EventAttributeIDs).
// Names go as one JSON array, so that there may be any number of them.
func (w *wtx) eventAttributeIDs(projectID string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(names)
	if err != nil {
		return nil, err
	}
	rows, err := w.q.QueryContext(w.ctx, `SELECT code_name, id FROM attribute_definitions
		WHERE project_id = ? AND scope = ? AND code_name IN (SELECT value FROM json_each(?))`,
		projectID, int(userdata.ScopeEvent), string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := map[string]string{}
	for rows.Next() {
		var codeName, id string
		if err := rows.Scan(&codeName, &id); err != nil {
			return nil, err
		}
		found[codeName] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return userdata.EventAttributeIDs(names, found)
}

// linkEventAttributes links an event definition to attribute definitions.
func (w *wtx) linkEventAttributes(eventID string, attrIDs []string) error {
	if len(attrIDs) == 0 {
		return nil
	}
	list, err := json.Marshal(attrIDs)
	if err != nil {
		return err
	}
	_, err = w.exec(`INSERT INTO event_definition_attributes (event_definition_id, attribute_definition_id)
		SELECT ?, value FROM json_each(?)`, eventID, string(list))
	return err
}

// CreateEventDefinition adds an event definition to a project, linked to
// the attributes it names.
func (s *Store) CreateEventDefinition(ctx context.Context, projectID string, in *userdata.EventDefinitionInput) (*userdata.EventDefinition, error) {
	var d *userdata.EventDefinition
	err := s.write(ctx, func(w *wtx) error {
		if err := projectExists(w.ctx, w.q, projectID); err != nil {
			return err
		}
		names := userdata.UniqueNames(in.Attributes)
		attrIDs, err := w.eventAttributeIDs(projectID, names)
		if err != nil {
			return err
		}
		d = &userdata.EventDefinition{ID: userdata.NewID(), CodeName: in.CodeName, DisplayName: in.DisplayName,
			Description: in.Description, CreatedAt: w.now, Attributes: userdata.SortedNames(names)}
		res, err := w.exec(`INSERT INTO event_definitions (id, project_id, code_name, display_name, description, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, code_name) DO NOTHING`,
			d.ID, projectID, d.CodeName, d.DisplayName, d.Description, micros(w.now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = userdata.EventDefinitionExists(in.CodeName)
		}
		if err != nil {
			return err
		}
		return w.linkEventAttributes(d.ID, attrIDs)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// UpdateEventDefinition changes an event definition, replacing its links
// when the update gives attributes.
func (s *Store) UpdateEventDefinition(ctx context.Context, projectID, id string, u *userdata.EventDefinitionUpdate) (*userdata.EventDefinition, error) {
	var d *userdata.EventDefinition
	err := s.write(ctx, func(w *wtx) (err error) {
		if d, err = w.writableEventDefinition(projectID, id); err != nil {
			return err
		}
		var attrIDs []string
		if u.Attributes != nil {
			names := userdata.UniqueNames(*u.Attributes)
			if attrIDs, err = w.eventAttributeIDs(projectID, names); err != nil {
				return err
			}
			d.Attributes = userdata.SortedNames(names)
		}
		if u.DisplayName != nil {
			d.DisplayName = *u.DisplayName
		}
		if u.Description != nil {
			d.Description = *u.Description
		}
		if _, err := w.exec("UPDATE event_definitions SET display_name = ?, description = ? WHERE id = ?",
			d.DisplayName, d.Description, d.ID); err != nil || u.Attributes == nil {
			return err
		}
		if _, err := w.exec("DELETE FROM event_definition_attributes WHERE event_definition_id = ?", d.ID); err != nil {
			return err
		}
		return w.linkEventAttributes(d.ID, attrIDs)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteEventDefinition deletes an event definition and its links, unless
// a live environment of its project has recorded an event of its codeName.
// Events are tracked in the writer too, so none comes between the check
// and the deletion.
func (s *Store) DeleteEventDefinition(ctx context.Context, projectID, id string) error {
	return s.write(ctx, func(w *wtx) error {
		d, err := w.writableEventDefinition(projectID, id)
		if err != nil {
			return err
		}
		var recorded bool
		if err := w.q.QueryRowContext(w.ctx, `SELECT EXISTS (SELECT 1 FROM environments e JOIN events ev ON ev.environment_id = e.id
			WHERE e.project_id = ? AND e.deleted_at IS NULL AND ev.name = ?)`, projectID, d.CodeName).Scan(&recorded); err != nil {
			return err
		}
		if recorded {
			return userdata.ErrEventRecorded
		}
		_, err = w.exec("DELETE FROM event_definitions WHERE id = ?", d.ID)
		return err
	})
}
