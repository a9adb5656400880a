package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"tourd/internal/userdata"
)

// segmentColumns are the columns scanSegment reads.
const segmentColumns = "id, project_id, name, biz_type, kind, conditions, created_at, updated_at"

func scanSegment(r scanner) (*userdata.Segment, error) {
	var sg userdata.Segment
	var conditions sql.NullString
	var created, updated int64
	if err := r.Scan(&sg.ID, &sg.ProjectID, &sg.Name, &sg.BizType, &sg.Kind, &conditions, &created, &updated); err != nil {
		return nil, err
	}
	if conditions.Valid {
		sg.Conditions = []byte(conditions.String)
	}
	sg.CreatedAt, sg.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &sg, nil
}

// readSegment reads a segment of a project, or returns CodeNotFound for
// ResourceSegment.
func readSegment(ctx context.Context, q querier, projectID, id string) (*userdata.Segment, error) {
	sg, err := scanSegment(q.QueryRowContext(ctx, "SELECT "+segmentColumns+" FROM segments WHERE project_id = ? AND id = ?", projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceSegment)
	}
	return sg, err
}

// nullJSON is the stored form of optional JSON: NULL for nil.
func nullJSON(raw []byte) sql.NullString {
	return sql.NullString{String: string(raw), Valid: raw != nil}
}

// ListSegments returns a page of the project's segments.
func (s *Store) ListSegments(ctx context.Context, projectID string, f userdata.SegmentFilter) (*userdata.List[*userdata.Segment], error) {
	l := &listing{table: "segments", scopeCol: "project_id", scope: projectID}
	if f.BizType != 0 {
		l.where("biz_type = ?", int(f.BizType))
	}
	l.whereNameContains(f.NameFilter(), "name")
	segs, err := list(ctx, s.r, l, f.PageRequest, segmentColumns, func(r scanner) (*userdata.Segment, string, error) {
		sg, err := scanSegment(r)
		if err != nil {
			return nil, "", err
		}
		return sg, sg.ID, nil
	})
	return segs, s.fault(err)
}

// GetSegment returns a segment of a project.
func (s *Store) GetSegment(ctx context.Context, projectID, id string) (*userdata.Segment, error) {
	sg, err := readSegment(ctx, s.r, projectID, id)
	return sg, s.fault(err)
}

// CreateSegment adds a condition or manual segment to a project.
func (s *Store) CreateSegment(ctx context.Context, projectID string, in *userdata.SegmentInput) (*userdata.Segment, error) {
	var sg *userdata.Segment
	err := s.write(ctx, func(w *wtx) error {
		if err := projectExists(w.ctx, w.q, projectID); err != nil {
			return err
		}
		sg = &userdata.Segment{ID: userdata.NewID(), ProjectID: projectID, Name: in.Name, BizType: in.BizType, Kind: in.Kind,
			Conditions: in.StoredConditions(), CreatedAt: w.now, UpdatedAt: w.now}
		return w.insertSegment(sg)
	})
	if err != nil {
		return nil, err
	}
	return sg, nil
}

// insertSegment inserts a new segment.
func (w *wtx) insertSegment(sg *userdata.Segment) error {
	_, err := w.exec(`INSERT INTO segments (id, project_id, name, biz_type, kind, conditions, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sg.ID, sg.ProjectID, sg.Name, int(sg.BizType), string(sg.Kind), nullJSON(sg.Conditions),
		micros(sg.CreatedAt), micros(sg.UpdatedAt))
	return err
}

// seedSegments inserts a new project's built-in segments.
func (w *wtx) seedSegments(project string) error {
	for _, b := range userdata.BuiltInSegments {
		sg := &userdata.Segment{ID: userdata.NewID(), ProjectID: project, Name: b.Name, BizType: b.BizType, Kind: userdata.SegmentAll,
			CreatedAt: w.now, UpdatedAt: w.now}
		if err := w.insertSegment(sg); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSegment changes a segment of a project.
func (s *Store) UpdateSegment(ctx context.Context, projectID, id string, u *userdata.SegmentUpdate) (*userdata.Segment, error) {
	var sg *userdata.Segment
	err := s.write(ctx, func(w *wtx) error {
		old, err := readSegment(w.ctx, w.q, projectID, id)
		if err != nil {
			return err
		}
		if err := old.CheckUpdate(u); err != nil {
			return err
		}
		if sg = old.Apply(u, w.now); sg == old {
			return nil
		}
		_, err = w.exec("UPDATE segments SET name = ?, conditions = ?, updated_at = ? WHERE id = ?",
			sg.Name, nullJSON(sg.Conditions), micros(sg.UpdatedAt), sg.ID)
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
	return s.write(ctx, func(w *wtx) error {
		sg, err := readSegment(w.ctx, w.q, projectID, id)
		if err != nil {
			return err
		}
		if err := sg.CheckDelete(); err != nil {
			return err
		}
		_, err = w.exec("DELETE FROM segments WHERE id = ?", sg.ID)
		return err
	})
}

// memberTarget reads, in a write, a manual segment of tn's project and the
// row of tn's environment that externalID names in the segment's bizType
// (errors as userdata.Store.AddSegmentMember).
func (w *wtx) memberTarget(tn userdata.Tenant, segmentID, externalID string) (*userdata.Segment, *entity, error) {
	sg, err := readSegment(w.ctx, w.q, tn.ProjectID, segmentID)
	if err != nil {
		return nil, nil, err
	}
	if err := sg.CheckMembers(); err != nil {
		return nil, nil, err
	}
	t := usersTable
	if sg.BizType == userdata.ScopeCompany {
		t = companiesTable
	}
	e, err := w.entity(t, tn.EnvironmentID, externalID)
	if userdata.IsNotFound(err, t.resource) {
		return nil, nil, userdata.MemberNotFound(sg.BizType, externalID)
	}
	return sg, e, err
}

// qAddMember adds a member; the primary key makes adding it again a no-op.
// Its row's id goes in entity_id and in the column of its table (?4 is
// the bizType).
const qAddMember = `INSERT INTO segment_members (segment_id, environment_id, entity_id, user_id, company_id, created_at)
	VALUES (?1, ?2, ?3, CASE ?4 WHEN 1 THEN ?3 END, CASE ?4 WHEN 2 THEN ?3 END, ?5)
	ON CONFLICT (segment_id, entity_id) DO NOTHING`

// AddSegmentMember adds a user or company to a manual segment.
func (s *Store) AddSegmentMember(ctx context.Context, tn userdata.Tenant, segmentID, externalID string) error {
	return s.write(ctx, func(w *wtx) error {
		sg, e, err := w.memberTarget(tn, segmentID, externalID)
		if err != nil {
			return err
		}
		_, err = w.exec(qAddMember, sg.ID, tn.EnvironmentID, e.id, int(sg.BizType), micros(e.createdAt))
		return err
	})
}

// RemoveSegmentMember removes a user or company from a manual segment.
func (s *Store) RemoveSegmentMember(ctx context.Context, tn userdata.Tenant, segmentID, externalID string) error {
	return s.write(ctx, func(w *wtx) error {
		sg, e, err := w.memberTarget(tn, segmentID, externalID)
		if err != nil {
			return err
		}
		_, err = w.exec("DELETE FROM segment_members WHERE segment_id = ? AND entity_id = ?", sg.ID, e.id)
		return err
	})
}
