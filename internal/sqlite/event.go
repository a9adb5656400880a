package sqlite

import (
	"context"
	"strings"

	"tourd/internal/userdata"
)

// TrackEvent records an event, creating its definitions when missing.
func (s *Store) TrackEvent(ctx context.Context, tn userdata.Tenant, in *userdata.EventInput) (*userdata.Event, error) {
	ev := &userdata.Event{ID: userdata.NewID(), Name: in.Name, UserID: in.UserID, CompanyID: in.CompanyID}
	err := s.write(ctx, func(w *wtx) error {
		u, err := w.entity(usersTable, tn.EnvironmentID, in.UserID)
		if err != nil {
			return err
		}
		var companyID any // NULL without a company
		if in.CompanyID != "" {
			c, err := w.entity(companiesTable, tn.EnvironmentID, in.CompanyID)
			if err != nil {
				return err
			}
			companyID = c.id
		}
		if ev.Attributes, err = in.Attributes.Create(nil); err != nil {
			return err
		}
		ev.CreatedAt = w.now
		if in.Timestamp != nil {
			ev.CreatedAt = in.Timestamp.UTC()
		}
		if ev.DefinitionID, err = w.defineEvent(tn.ProjectID, in.Name, in.Attributes); err != nil {
			return err
		}
		if _, err = w.exec(`INSERT INTO events (id, environment_id, user_id, company_id, name, attributes, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, ev.ID, tn.EnvironmentID, u.id, companyID, in.Name, string(ev.Attributes), micros(ev.CreatedAt)); err != nil {
			return err
		}
		w.record(&userdata.Change{ID: userdata.NewChangeID(), Type: userdata.ChangeEventTracked + in.Name,
			EnvironmentID: tn.EnvironmentID, CreatedAt: w.now, Event: ev})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// defineEvent makes sure the event has a definition, and each attribute
// an eventDefinition-scoped definition linked to it, and returns the
// definition's id.
func (w *wtx) defineEvent(project, name string, a userdata.Attributes) (string, error) {
	if _, err := w.exec(`INSERT INTO event_definitions (id, project_id, code_name, display_name, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, code_name) DO NOTHING`,
		userdata.NewID(), project, name, userdata.EventDisplayName(name), micros(w.now)); err != nil {
		return "", err
	}
	var id string
	if err := w.q.QueryRowContext(w.ctx, "SELECT id FROM event_definitions WHERE project_id = ? AND code_name = ?", project, name).Scan(&id); err != nil {
		return "", err
	}
	keys := a.Keys()
	if len(keys) == 0 {
		return id, nil
	}
	if err := w.ensureDefinitions(project, userdata.ScopeEvent, a); err != nil {
		return "", err
	}
	args := []any{id, project, int(userdata.ScopeEvent)}
	for _, k := range keys {
		args = append(args, k)
	}
	_, err := w.exec(`INSERT INTO event_definition_attributes (event_definition_id, attribute_definition_id)
		SELECT ?, d.id FROM attribute_definitions d
		WHERE d.project_id = ? AND d.scope = ?
		AND d.code_name IN (?`+strings.Repeat(", ?", len(keys)-1)+`)
		ON CONFLICT DO NOTHING`, args...)
	return id, err
}

// eventColumns are the columns scanEvent reads: the user and company are
// shown by their external ids.
const eventColumns = `id, name, (SELECT external_id FROM users WHERE users.id = events.user_id),
	(SELECT external_id FROM companies WHERE companies.id = events.company_id), attributes, created_at`

// ListEvents returns a page of the environment's events.
func (s *Store) ListEvents(ctx context.Context, tn userdata.Tenant, f userdata.EventFilter) (*userdata.List[*userdata.Event], error) {
	l := listing{table: "events", scopeCol: "environment_id", scope: tn.EnvironmentID}
	if f.UserID != "" {
		l.where("user_id IN (SELECT id FROM users WHERE environment_id = ? AND external_id = ?)", tn.EnvironmentID, f.UserID)
	}
	if f.CompanyID != "" {
		l.where("company_id IN (SELECT id FROM companies WHERE environment_id = ? AND external_id = ?)", tn.EnvironmentID, f.CompanyID)
	}
	if f.Name != "" {
		l.where("name = ?", f.Name)
	}
	events, err := list(ctx, s.r, &l, f.PageRequest, eventColumns, func(r scanner) (*userdata.Event, string, error) {
		var ev userdata.Event
		var company *string
		var attrs []byte
		var created int64
		err := r.Scan(&ev.ID, &ev.Name, &ev.UserID, &company, &attrs, &created)
		if company != nil {
			ev.CompanyID = *company
		}
		ev.Attributes, ev.CreatedAt = attrs, fromMicros(created)
		return &ev, ev.ID, err
	})
	return events, s.fault(err)
}
