package postgres

import (
	"context"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// The members of a segment as the rows of the users (companies) table they
// are, for a listing of a manual segment's members driven by the index
// segment_members_list (segment_id, environment_id, created_at,
// entity_id): a member's created_at is its row's and its entity_id the
// row's id, so PostgreSQL, pulling the derived table up, orders the page
// and applies the cursor on that index, however few of the environment's
// rows the members are.
const (
	userMembers = `(SELECT sm.entity_id AS id, sm.environment_id AS environment_id, sm.created_at AS created_at, sm.segment_id AS segment_id,
		u.external_id AS external_id, u.attributes AS attributes, u.email AS email
		FROM segment_members sm JOIN users u ON u.id = sm.entity_id) AS users`
	companyMembers = `(SELECT sm.entity_id AS id, sm.environment_id AS environment_id, sm.created_at AS created_at, sm.segment_id AS segment_id,
		c.external_id AS external_id, c.attributes AS attributes
		FROM segment_members sm JOIN companies c ON c.id = sm.entity_id) AS companies`
)

// whereAudience adds the filters of a (segments.md §4, §6) to l, a listing
// of the users (biz ScopeUser) or companies (ScopeCompany) table, to be
// read in order o (nil for a count): a manual segment keeps its members,
// a condition segment and ad-hoc conditions the rows their trees match,
// compiled with the project's definitions and a's Now, or the store's
// clock read once.
func (s *Store) whereAudience(ctx context.Context, l *listing, tn userdata.Tenant, a *userdata.Audience, biz userdata.Scope, o *order) error {
	if err := a.Check(biz); err != nil {
		return err
	}
	if sg := a.Segment; sg != nil && sg.Kind == userdata.SegmentManual {
		l.whereMember(sg.ID, biz, o == nil || o.Uniform())
	}
	t := segment.Target{Biz: biz, Alias: l.base, ArgStart: len(l.args) + 1}
	if o == nil {
		t.Environment = tn.EnvironmentID
	}
	now := a.Now
	if now.IsZero() {
		now = s.Now()
	}
	where, args, err := segment.Where(ctx, segment.Postgres, s.AttributeTypes, tn.ProjectID, a, t, now)
	if err != nil || where == "" {
		return err
	}
	l.args = append(l.args, args...)
	l.where(where)
	return nil
}

// whereMember keeps the members of a manual segment: l reads the derived
// table of its members when the index gives the order (drive), else (an
// order of mixed directions, v1's newest first) the rows of l.base whose
// membership the primary key of segment_members finds.
func (l *listing) whereMember(segmentID string, biz userdata.Scope, drive bool) {
	id := l.arg(segmentID)
	if !drive {
		l.where("EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = " + id + " AND sm.entity_id = " + l.base + ".id)")
		return
	}
	l.table = userMembers
	if biz == userdata.ScopeCompany {
		l.table = companyMembers
	}
	l.where("segment_id = " + id)
}
