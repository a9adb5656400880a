package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// qLockUser and qLockCompany lock the rows an event or a membership will
// reference against deletion until it commits: a user or company deleted
// meanwhile is not found (404), rather than a foreign-key violation at the
// insert.
const (
	qLockUser              = `SELECT id FROM users WHERE environment_id = $1 AND external_id = $2 FOR KEY SHARE`
	qLockCompany           = `SELECT id FROM companies WHERE environment_id = $1 AND external_id = $2 FOR KEY SHARE`
	qInsertEventDefinition = `INSERT INTO event_definitions (id, project_id, code_name, display_name, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, code_name) DO NOTHING`
	qLinkEventAttributes = `INSERT INTO event_definition_attributes (event_definition_id, attribute_definition_id)
		SELECT e.id, d.id FROM event_definitions e, attribute_definitions d
		WHERE e.project_id = $1 AND e.code_name = $2 AND d.project_id = $1 AND d.scope = $3 AND d.code_name = ANY($4)
		ON CONFLICT DO NOTHING`
	// qInsertEvent inserts an event and records it: its change ($8, of
	// type $9, at $10, of seq $14) names the user and company by external
	// id ($11, $12) and the event's definition (in project $13), which the
	// statement answers with.
	qInsertEvent = `WITH ev AS (INSERT INTO events (id, environment_id, user_id, company_id, name, attributes, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)),
		rec AS (INSERT INTO changes (id, environment_id, type, created_at, seq, object_id, object_created_at, user_id, company_id, definition_id, attributes)
			SELECT $8, $2, $9, $10, $14, $1, $7, $11, $12, d.id, $6 FROM event_definitions d WHERE d.project_id = $13 AND d.code_name = $5
			RETURNING definition_id, environment_id),
		` + sealCTE + `
		SELECT definition_id FROM rec`
)

// TrackEvent records an event, and its change, in one transaction,
// creating its definitions when missing. It returns CodeNotFound for
// ResourceUser or ResourceCompany when the user or the given company does
// not exist.
func (s *Store) TrackEvent(ctx context.Context, tn userdata.Tenant, in *userdata.EventInput) (*userdata.Event, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(in.UserID) {
		return nil, userdata.NotFound(userdata.ResourceUser)
	}
	if !storable(in.CompanyID) {
		return nil, userdata.NotFound(userdata.ResourceCompany)
	}
	attrs, err := in.Attributes.Create(nil)
	if err != nil {
		return nil, err
	}
	ev := &userdata.Event{ID: userdata.NewID(), Name: in.Name, UserID: in.UserID, CompanyID: in.CompanyID, Attributes: attrs}
	err = s.retry(ctx, "track event", func() error {
		now := s.now()
		ev.CreatedAt = now
		if in.Timestamp != nil {
			ev.CreatedAt = in.Timestamp.UTC()
		}
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return trackEvent(ctx, tx, tn, in, ev, now, s.nextSeq())
		})
	})
	if err != nil {
		return nil, translate("track event", err)
	}
	s.changes.Notify()
	return ev, nil
}

func trackEvent(ctx context.Context, tx pgx.Tx, tn userdata.Tenant, in *userdata.EventInput, ev *userdata.Event, now time.Time, seq int64) error {
	var userID string
	err := tx.QueryRow(ctx, qLockUser, tn.EnvironmentID, in.UserID).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return userdata.NotFound(userdata.ResourceUser)
	}
	if err != nil {
		return err
	}
	var companyID *string
	if in.CompanyID != "" {
		companyID = new(string)
		err := tx.QueryRow(ctx, qLockCompany, tn.EnvironmentID, in.CompanyID).Scan(companyID)
		if errors.Is(err, pgx.ErrNoRows) {
			return userdata.NotFound(userdata.ResourceCompany)
		}
		if err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, qInsertEventDefinition, userdata.NewID(), tn.ProjectID, in.Name, userdata.EventDisplayName(in.Name), now); err != nil {
		return err
	}
	if keys := in.Attributes.Keys(); len(keys) > 0 {
		var rows definitionRows
		for _, k := range keys {
			rows.add(userdata.ScopeEvent, k, userdata.EventDisplayName(k), userdata.DefinitionType(in.Attributes[k]))
		}
		var b pgx.Batch
		rows.queue(&b, tn.ProjectID, false, now)
		for _, k := range in.Attributes.TypedKeys() {
			newTypeCheck(defKey{tn.ProjectID, userdata.ScopeEvent, k}, in.Attributes).queue(&b)
		}
		b.Queue(qLinkEventAttributes, tn.ProjectID, in.Name, int32(userdata.ScopeEvent), keys)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
	}
	return tx.QueryRow(ctx, qInsertEvent, ev.ID, tn.EnvironmentID, userID, companyID, in.Name, ev.Attributes, ev.CreatedAt,
		userdata.NewChangeID(), userdata.ChangeEventTracked+in.Name, now, in.UserID, nullable(in.CompanyID), tn.ProjectID, seq).Scan(&ev.DefinitionID)
}

// nullable returns s, or nil (NULL) when it is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// eventColumns are the columns scanEvent reads: the user and company are
// shown by their external ids.
const eventColumns = `id, name, (SELECT external_id FROM users WHERE users.id = events.user_id),
	(SELECT external_id FROM companies WHERE companies.id = events.company_id), attributes, created_at`

// ListEvents returns a page of the environment's events.
func (s *Store) ListEvents(ctx context.Context, tn userdata.Tenant, f userdata.EventFilter) (*userdata.List[*userdata.Event], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("events", "environment_id", tn.EnvironmentID)
	for _, filter := range []struct{ value, cond string }{
		{f.UserID, "user_id IN (SELECT id FROM users WHERE environment_id = $1 AND external_id = %s)"},
		{f.CompanyID, "company_id IN (SELECT id FROM companies WHERE environment_id = $1 AND external_id = %s)"},
		{f.Name, "name = %s"},
	} {
		if filter.value == "" {
			continue
		}
		if !storable(filter.value) {
			return &userdata.List[*userdata.Event]{Items: []*userdata.Event{}}, nil
		}
		l.where(fmt.Sprintf(filter.cond, l.arg(filter.value)))
	}
	list, err := list(ctx, s, l, f.PageRequest, eventColumns, func(r pgx.Row) (*userdata.Event, string, error) {
		var ev userdata.Event
		var company *string
		var attrs []byte
		err := r.Scan(&ev.ID, &ev.Name, &ev.UserID, &company, &attrs, &ev.CreatedAt)
		if err != nil {
			return nil, "", err
		}
		if company != nil {
			ev.CompanyID = *company
		}
		ev.Attributes = compact(attrs)
		return &ev, ev.ID, nil
	})
	if err != nil {
		return nil, translate("list events", err)
	}
	return list, nil
}
