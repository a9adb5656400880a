package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"tourd/internal/userdata"
)

// joinCompany upserts a company and makes sure the user is a member of it,
// merging attrs into the membership (§9.1 steps 2 and 3; nil attrs leave an
// existing membership untouched).
func (w *wtx) joinCompany(tn userdata.Tenant, userID string, co userdata.CompanyUpsert, attrs userdata.Attributes) error {
	c, _, err := companiesTable.upsert(w, tn, co.ExternalID, co.Attributes, nil)
	if err != nil {
		return err
	}
	_, err = w.join(tn, userID, c.id, attrs)
	return err
}

// join makes sure the user is a member of the company (both by internal
// id), creating the membership with attrs or merging attrs into it, and
// returns it as stored.
func (w *wtx) join(tn userdata.Tenant, userID, companyID string, attrs userdata.Attributes) (userdata.Membership, error) {
	m := userdata.Membership{UserID: userID, CompanyID: companyID}
	var stored []byte
	var created int64
	err := w.q.QueryRowContext(w.ctx, "SELECT id, attributes, created_at FROM memberships WHERE user_id = ? AND company_id = ?",
		userID, companyID).Scan(&m.ID, &stored, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if m.Attributes, err = attrs.Create(nil); err != nil {
			return m, err
		}
		m.ID, m.CreatedAt = userdata.NewID(), w.now
		if _, err := w.exec(`INSERT INTO memberships (id, environment_id, user_id, company_id, attributes, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, m.ID, tn.EnvironmentID, userID, companyID, string(m.Attributes), micros(w.now)); err != nil {
			return m, err
		}
		w.recordMembership(tn.EnvironmentID, &m, userdata.ChangeMembershipCreated, nil)
	case err != nil:
		return m, err
	default:
		var changed bool
		var previous json.RawMessage
		if m.Attributes, previous, changed, err = attrs.MergeChange(stored); err != nil {
			return m, err
		}
		m.CreatedAt = fromMicros(created)
		if changed {
			if _, err := w.exec("UPDATE memberships SET attributes = ? WHERE id = ?", string(m.Attributes), m.ID); err != nil {
				return m, err
			}
			w.recordMembership(tn.EnvironmentID, &m, userdata.ChangeMembershipUpdated, previous)
		}
	}
	return m, w.ensureDefinitions(tn.ProjectID, userdata.ScopeMembership, attrs)
}

// UpsertMembership creates the membership of an existing user in an
// existing company, or merges attrs into it, as a user upsert's
// memberships[] do.
func (s *Store) UpsertMembership(ctx context.Context, tn userdata.Tenant, companyID, userID string, attrs userdata.Attributes) (*userdata.Membership, error) {
	var m userdata.Membership
	err := s.write(ctx, func(w *wtx) error {
		c, err := w.entity(companiesTable, tn.EnvironmentID, companyID)
		if err != nil {
			return err
		}
		u, err := w.entity(usersTable, tn.EnvironmentID, userID)
		if err != nil {
			return err
		}
		m, err = w.join(tn, u.id, c.id, attrs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteMembership removes the membership linking two entities given by
// external ids and returns its internal id.
func (s *Store) DeleteMembership(ctx context.Context, tn userdata.Tenant, userID, companyID string) (string, error) {
	var m userdata.Membership
	err := s.write(ctx, func(w *wtx) error {
		var created int64
		var attrs []byte
		err := w.q.QueryRowContext(w.ctx, `SELECT m.id, m.user_id, m.company_id, m.attributes, m.created_at FROM memberships m
			JOIN users u ON u.id = m.user_id JOIN companies c ON c.id = m.company_id
			WHERE u.environment_id = ? AND u.external_id = ? AND c.environment_id = ? AND c.external_id = ?`,
			tn.EnvironmentID, userID, tn.EnvironmentID, companyID).Scan(&m.ID, &m.UserID, &m.CompanyID, &attrs, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return userdata.NotFound(userdata.ResourceMembership)
		}
		if err != nil {
			return err
		}
		m.Attributes, m.CreatedAt = attrs, fromMicros(created)
		if _, err = w.exec("DELETE FROM memberships WHERE id = ?", m.ID); err != nil {
			return err
		}
		w.recordMembership(tn.EnvironmentID, &m, userdata.ChangeMembershipDeleted, nil)
		return nil
	})
	return m.ID, err
}

// memberSide says how to read memberships from one side: the column that
// holds the owner's id and the table of the entity on the other side.
type memberSide struct{ ownerCol, otherCol, otherTable string }

var (
	userSide    = memberSide{"user_id", "company_id", "companies"}
	companySide = memberSide{"company_id", "user_id", "users"}
)

// members reads the memberships of the given owners, oldest first, each
// with the entity on the other side set (Company for the user side, User
// for the company side).
func (s *Store) members(ctx context.Context, side memberSide, ownerIDs []string) ([]*userdata.Membership, error) {
	ms, err := s.readMembers(ctx, side, ownerIDs)
	return ms, s.fault(err)
}

func (s *Store) readMembers(ctx context.Context, side memberSide, ownerIDs []string) ([]*userdata.Membership, error) {
	if len(ownerIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(ownerIDs))
	for i, id := range ownerIDs {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, `SELECT m.id, m.user_id, m.company_id, m.attributes, m.created_at,
		o.id, o.external_id, o.attributes, o.created_at
		FROM memberships m JOIN `+side.otherTable+` o ON o.id = m.`+side.otherCol+`
		WHERE m.`+side.ownerCol+` IN (?`+strings.Repeat(", ?", len(ownerIDs)-1)+`)
		ORDER BY m.created_at, m.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*userdata.Membership
	for rows.Next() {
		m := &userdata.Membership{}
		var o entity
		var attrs, oAttrs []byte
		var created, oCreated int64
		if err := rows.Scan(&m.ID, &m.UserID, &m.CompanyID, &attrs, &created, &o.id, &o.externalID, &oAttrs, &oCreated); err != nil {
			return nil, err
		}
		m.Attributes, m.CreatedAt = attrs, fromMicros(created)
		o.attributes, o.createdAt = oAttrs, fromMicros(oCreated)
		if side == userSide {
			m.Company = o.company()
		} else {
			m.User = o.user()
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// userMembers reads the memberships of users, each with its company.
func (s *Store) userMembers(ctx context.Context, userIDs []string) ([]*userdata.Membership, error) {
	return s.members(ctx, userSide, userIDs)
}

// companyMembers reads the memberships of companies, each with its user.
func (s *Store) companyMembers(ctx context.Context, companyIDs []string) ([]*userdata.Membership, error) {
	return s.members(ctx, companySide, companyIDs)
}
