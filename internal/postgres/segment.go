package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// segmentColumns are the columns scanSegment reads.
const segmentColumns = "id, project_id, name, biz_type, kind, conditions, created_at, updated_at"

func scanSegment(r pgx.Row) (*userdata.Segment, error) {
	var sg userdata.Segment
	var kind string
	var conditions []byte
	if err := r.Scan(&sg.ID, &sg.ProjectID, &sg.Name, &sg.BizType, &kind, &conditions, &sg.CreatedAt, &sg.UpdatedAt); err != nil {
		return nil, err
	}
	sg.Kind, sg.Conditions = userdata.SegmentKind(kind), conditions
	return &sg, nil
}

// readSegment reads a segment of a project, with lock (a locking clause such
// as " FOR UPDATE", or "") on its row, or returns CodeNotFound for
// ResourceSegment.
func readSegment(ctx context.Context, q rowQuerier, projectID, id, lock string) (*userdata.Segment, error) {
	if !storable(projectID) || !storable(id) {
		return nil, userdata.NotFound(userdata.ResourceSegment)
	}
	sg, err := scanSegment(q.QueryRow(ctx, "SELECT "+segmentColumns+" FROM segments WHERE project_id = $1 AND id = $2"+lock, projectID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceSegment)
	}
	return sg, err
}

// ListSegments returns a page of the project's segments. It returns
// CodeInvalidCursor when the cursor is not a segment of the project or
// selects an empty page.
func (s *Store) ListSegments(ctx context.Context, projectID string, f userdata.SegmentFilter) (*userdata.List[*userdata.Segment], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("segments", "project_id", projectID)
	if !storable(projectID) {
		l.where("false")
	}
	if f.BizType != 0 {
		l.where("biz_type = " + l.arg(int32(f.BizType)))
	}
	l.whereNameContains(f.NameFilter(), "name")
	list, err := list(ctx, s, l, f.PageRequest, segmentColumns, func(r pgx.Row) (*userdata.Segment, string, error) {
		sg, err := scanSegment(r)
		if err != nil {
			return nil, "", err
		}
		return sg, sg.ID, nil
	})
	return list, translate("list segments", err)
}

// GetSegment returns a segment of a project.
func (s *Store) GetSegment(ctx context.Context, projectID, id string) (*userdata.Segment, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sg, err := readSegment(ctx, s.pool, projectID, id, "")
	return sg, translate("get segment", err)
}

const qInsertSegment = `INSERT INTO segments (id, project_id, name, biz_type, kind, conditions, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// insertArgs are the arguments of qInsertSegment for sg.
func insertArgs(sg *userdata.Segment) []any {
	return []any{sg.ID, sg.ProjectID, sg.Name, int32(sg.BizType), string(sg.Kind), []byte(sg.Conditions), sg.CreatedAt, sg.UpdatedAt}
}

// CreateSegment adds a condition or manual segment to a project.
func (s *Store) CreateSegment(ctx context.Context, projectID string, in *userdata.SegmentInput) (*userdata.Segment, error) {
	if !storable(projectID) {
		return nil, userdata.NotFound(userdata.ResourceProject)
	}
	var sg *userdata.Segment
	err := s.transact(ctx, "create segment", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		if err := projectExists(ctx, tx, projectID); err != nil {
			return err
		}
		sg = &userdata.Segment{ID: userdata.NewID(), ProjectID: projectID, Name: in.Name, BizType: in.BizType, Kind: in.Kind,
			Conditions: in.StoredConditions(), CreatedAt: now, UpdatedAt: now}
		_, err := tx.Exec(ctx, qInsertSegment, insertArgs(sg)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sg, nil
}

// queueSeedSegments queues the inserts of a new project's built-in
// segments.
func queueSeedSegments(b *pgx.Batch, project string, now time.Time) {
	for _, bi := range userdata.BuiltInSegments {
		sg := &userdata.Segment{ID: userdata.NewID(), ProjectID: project, Name: bi.Name, BizType: bi.BizType, Kind: userdata.SegmentAll,
			CreatedAt: now, UpdatedAt: now}
		b.Queue(qInsertSegment, insertArgs(sg)...)
	}
}

// UpdateSegment changes a segment of a project, its row locked from the
// checks to the change (FOR NO KEY UPDATE, as the UPDATE itself would: the
// adds of members, which lock it FOR KEY SHARE, go on meanwhile).
func (s *Store) UpdateSegment(ctx context.Context, projectID, id string, u *userdata.SegmentUpdate) (*userdata.Segment, error) {
	var sg *userdata.Segment
	err := s.transact(ctx, "update segment", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		old, err := readSegment(ctx, tx, projectID, id, " FOR NO KEY UPDATE")
		if err != nil {
			return err
		}
		if err := old.CheckUpdate(u); err != nil {
			return err
		}
		if sg = old.Apply(u, now); sg == old {
			return nil
		}
		_, err = tx.Exec(ctx, "UPDATE segments SET name = $2, conditions = $3, updated_at = $4 WHERE id = $1",
			sg.ID, sg.Name, []byte(sg.Conditions), sg.UpdatedAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sg, nil
}

// DeleteSegment deletes a segment of a project; its members go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteSegment(ctx context.Context, projectID, id string) error {
	return s.transact(ctx, "delete segment", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		sg, err := readSegment(ctx, tx, projectID, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		if err := sg.CheckDelete(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM segments WHERE id = $1", sg.ID)
		return err
	})
}

// memberRow is the row of users or companies a member is.
type memberRow struct {
	id        string
	createdAt time.Time
}

// memberTarget reads a manual segment of tn's project and the row of tn's
// environment that externalID names in the segment's bizType (errors as
// userdata.Store.AddSegmentMember). Both rows are locked FOR KEY SHARE
// until the transaction ends, as the foreign keys of a member lock them:
// a deletion of either waits for it, and one that came first leaves
// nothing to find.
func memberTarget(ctx context.Context, tx pgx.Tx, tn userdata.Tenant, segmentID, externalID string) (*userdata.Segment, memberRow, error) {
	var row memberRow
	sg, err := readSegment(ctx, tx, tn.ProjectID, segmentID, " FOR KEY SHARE")
	if err != nil {
		return nil, row, err
	}
	if err := sg.CheckMembers(); err != nil {
		return nil, row, err
	}
	table := "users"
	if sg.BizType == userdata.ScopeCompany {
		table = "companies"
	}
	if !storable(externalID) {
		return nil, row, userdata.MemberNotFound(sg.BizType, externalID)
	}
	err = tx.QueryRow(ctx, "SELECT id, created_at FROM "+table+" WHERE environment_id = $1 AND external_id = $2 FOR KEY SHARE",
		tn.EnvironmentID, externalID).Scan(&row.id, &row.createdAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, row, userdata.MemberNotFound(sg.BizType, externalID)
	}
	return sg, row, err
}

// qAddMember adds a member; the primary key makes adding it again a no-op.
// Its row's id goes in entity_id and in the column of its table ($4 is the
// bizType).
const qAddMember = `INSERT INTO segment_members (segment_id, environment_id, entity_id, user_id, company_id, created_at)
	VALUES ($1, $2, $3, CASE WHEN $4::integer = 1 THEN $3 END, CASE WHEN $4::integer = 2 THEN $3 END, $5)
	ON CONFLICT (segment_id, entity_id) DO NOTHING`

// AddSegmentMember adds a user or company to a manual segment.
func (s *Store) AddSegmentMember(ctx context.Context, tn userdata.Tenant, segmentID, externalID string) error {
	return s.transact(ctx, "add segment member", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		sg, row, err := memberTarget(ctx, tx, tn, segmentID, externalID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, qAddMember, sg.ID, tn.EnvironmentID, row.id, int32(sg.BizType), row.createdAt)
		return err
	})
}

// RemoveSegmentMember removes a user or company from a manual segment.
func (s *Store) RemoveSegmentMember(ctx context.Context, tn userdata.Tenant, segmentID, externalID string) error {
	return s.transact(ctx, "remove segment member", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		sg, row, err := memberTarget(ctx, tx, tn, segmentID, externalID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM segment_members WHERE segment_id = $1 AND entity_id = $2", sg.ID, row.id)
		return err
	})
}
