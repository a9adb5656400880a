package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// eventDefinitionColumns are the columns scanEventDefinition reads, from
// event_definitions: the codeNames of the linked attributes as an array,
// in byte order (code_name is COLLATE "C").
const eventDefinitionColumns = `id, code_name, display_name, description, predefined, created_at,
	ARRAY(SELECT a.code_name FROM event_definition_attributes l
		JOIN attribute_definitions a ON a.id = l.attribute_definition_id
		WHERE l.event_definition_id = event_definitions.id ORDER BY a.code_name)`

func scanEventDefinition(r pgx.Row) (*userdata.EventDefinition, error) {
	var d userdata.EventDefinition
	if err := r.Scan(&d.ID, &d.CodeName, &d.DisplayName, &d.Description, &d.Predefined, &d.CreatedAt, &d.Attributes); err != nil {
		return nil, err
	}
	if d.Attributes == nil {
		d.Attributes = []string{}
	}
	return &d, nil
}

// eventDefinition reads an event definition of a project, with lock on its
// row, or returns CodeNotFound for ResourceEventDefinition.
func eventDefinition(ctx context.Context, q rowQuerier, projectID, id, lock string) (*userdata.EventDefinition, error) {
	if !storable(projectID) || !storable(id) {
		return nil, userdata.NotFound(userdata.ResourceEventDefinition)
	}
	d, err := scanEventDefinition(q.QueryRow(ctx,
		"SELECT "+eventDefinitionColumns+" FROM event_definitions WHERE project_id = $1 AND id = $2"+lock, projectID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceEventDefinition)
	}
	return d, err
}

// writableEventDefinition reads an event definition that may be changed,
// as eventDefinition: CodeNotFound, then CodePredefined.
func writableEventDefinition(ctx context.Context, tx pgx.Tx, projectID, id, lock string) (*userdata.EventDefinition, error) {
	d, err := eventDefinition(ctx, tx, projectID, id, lock)
	if err == nil && d.Predefined {
		err = userdata.ErrPredefined
	}
	return d, err
}

// GetEventDefinition returns an event definition of a project.
func (s *Store) GetEventDefinition(ctx context.Context, projectID, id string) (*userdata.EventDefinition, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	d, err := eventDefinition(ctx, s.pool, projectID, id, "")
	return d, translate("get event definition", err)
}

// eventAttributeIDs returns the ids of the eventDefinition-scoped
// attribute definitions of a project named by names (userdata.UniqueNames),
// locking them against deletion until the transaction ends, or a
// CodeInvalid error naming those that are not (EventAttributeIDs).
func eventAttributeIDs(ctx context.Context, tx pgx.Tx, projectID string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	rows, _ := tx.Query(ctx, `SELECT code_name, id FROM attribute_definitions
		WHERE project_id = $1 AND scope = $2 AND code_name = ANY($3) FOR KEY SHARE`,
		projectID, int32(userdata.ScopeEvent), slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !storable(n) }))
	found := map[string]string{}
	var codeName, id string
	_, err := pgx.ForEachRow(rows, []any{&codeName, &id}, func() error {
		found[codeName] = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return userdata.EventAttributeIDs(names, found)
}

// linkEventAttributes links an event definition to attribute definitions.
func linkEventAttributes(ctx context.Context, tx pgx.Tx, eventID string, attrIDs []string) error {
	if len(attrIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO event_definition_attributes (event_definition_id, attribute_definition_id)
		SELECT $1, unnest($2::text[])`, eventID, attrIDs)
	return err
}

// CreateEventDefinition adds an event definition to a project, linked to
// the attributes it names.
func (s *Store) CreateEventDefinition(ctx context.Context, projectID string, in *userdata.EventDefinitionInput) (*userdata.EventDefinition, error) {
	if !storable(projectID) {
		return nil, userdata.NotFound(userdata.ResourceProject)
	}
	var d *userdata.EventDefinition
	err := s.transact(ctx, "create event definition", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		if err := projectExists(ctx, tx, projectID); err != nil {
			return err
		}
		names := userdata.UniqueNames(in.Attributes)
		attrIDs, err := eventAttributeIDs(ctx, tx, projectID, names)
		if err != nil {
			return err
		}
		d = &userdata.EventDefinition{ID: userdata.NewID(), CodeName: in.CodeName, DisplayName: in.DisplayName,
			Description: in.Description, CreatedAt: now, Attributes: userdata.SortedNames(names)}
		tag, err := tx.Exec(ctx, `INSERT INTO event_definitions (id, project_id, code_name, display_name, description, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, code_name) DO NOTHING`,
			d.ID, projectID, d.CodeName, d.DisplayName, d.Description, now)
		if err == nil && tag.RowsAffected() == 0 {
			err = userdata.EventDefinitionExists(in.CodeName)
		}
		if err != nil {
			return err
		}
		return linkEventAttributes(ctx, tx, d.ID, attrIDs)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// UpdateEventDefinition changes an event definition, replacing its links
// when the update gives attributes. It takes the table lock its writes
// need first, so that it never holds the row while DeleteEventDefinition
// holds the table (see there) and waits for the row.
func (s *Store) UpdateEventDefinition(ctx context.Context, projectID, id string, u *userdata.EventDefinitionUpdate) (*userdata.EventDefinition, error) {
	var d *userdata.EventDefinition
	err := s.transact(ctx, "update event definition", func(ctx context.Context, tx pgx.Tx, _ time.Time) (err error) {
		if _, err := tx.Exec(ctx, "LOCK TABLE event_definitions IN ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		if d, err = writableEventDefinition(ctx, tx, projectID, id, " FOR UPDATE"); err != nil {
			return err
		}
		var attrIDs []string
		if u.Attributes != nil {
			names := userdata.UniqueNames(*u.Attributes)
			if attrIDs, err = eventAttributeIDs(ctx, tx, projectID, names); err != nil {
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
		if _, err := tx.Exec(ctx, "UPDATE event_definitions SET display_name = $1, description = $2 WHERE id = $3",
			d.DisplayName, d.Description, d.ID); err != nil || u.Attributes == nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM event_definition_attributes WHERE event_definition_id = $1", d.ID); err != nil {
			return err
		}
		return linkEventAttributes(ctx, tx, d.ID, attrIDs)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// qEventRecorded says whether a live environment of a project ($1) has
// recorded an event of a name ($2).
const qEventRecorded = `SELECT EXISTS (SELECT FROM environments e JOIN events ev ON ev.environment_id = e.id
	WHERE e.project_id = $1 AND e.deleted_at IS NULL AND ev.name = $2)`

// DeleteEventDefinition deletes an event definition and its links, unless
// a live environment of its project has recorded an event of its codeName.
//
// TrackEvent inserts its event definition (when missing) before its event,
// in one transaction, so the deletion first locks event_definitions in
// SHARE ROW EXCLUSIVE mode: that waits for the TrackEvents past their
// definition to commit, whose events the check then sees, and holds the
// others off at their definition until the deletion has committed, when
// they create the definition again. The lock blocks no reader, and the
// check is an index probe per environment, so the others wait briefly.
func (s *Store) DeleteEventDefinition(ctx context.Context, projectID, id string) error {
	return s.transact(ctx, "delete event definition", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE event_definitions IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		d, err := writableEventDefinition(ctx, tx, projectID, id, "")
		if err != nil {
			return err
		}
		var recorded bool
		if err := tx.QueryRow(ctx, qEventRecorded, projectID, d.CodeName).Scan(&recorded); err != nil {
			return err
		}
		if recorded {
			return userdata.ErrEventRecorded
		}
		_, err = tx.Exec(ctx, "DELETE FROM event_definitions WHERE id = $1", d.ID)
		return err
	})
}
