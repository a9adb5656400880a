package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// The membership writes find the user and the company by external id: both
// were upserted earlier in the same transaction (see write). Each records
// the change it makes (recordSQL: the change's id and seq are the
// parameters after its own) and answers with the number of changes it
// recorded.
var (
	// qEnsureMembership creates a missing membership with {} and leaves an
	// existing one untouched (§9.1 step 2).
	qEnsureMembership = `WITH old AS (SELECT NULL::jsonb AS attributes),
		up AS (INSERT INTO memberships (id, environment_id, user_id, company_id, attributes, created_at)
			SELECT $1::text, $2::text, u.id, c.id, '{}'::jsonb, $5::timestamptz FROM users u, companies c
			WHERE u.environment_id = $2 AND u.external_id = $3 AND c.environment_id = $2 AND c.external_id = $4
			ON CONFLICT (user_id, company_id) DO NOTHING
			RETURNING id, user_id, company_id, attributes, created_at, true AS created),
		` + recordSQL(membershipChanges, "$5::timestamptz", 5, "up.id, up.user_id, up.company_id") + `
		SELECT count(*) FROM up`

	// The merges of membership attributes (§9.1 step 3, §8.1), as
	// upsertSQL: qMergeMembership creates the membership with the new
	// values ($6), or merges them into it and removes the null keys ($7);
	// qMergeMembershipOps creates it with $8 (Attributes.Create) or merges
	// and applies the operations $9 (of keys $10). Neither updates a
	// membership that the merge leaves as it is, so neither tells a
	// membership left alone from a user or company not found (which the
	// statements before them in the transaction created).
	qMergeMembership    = membershipSQL("$6::jsonb", "(m.attributes || $6::jsonb) - $7::text[]", 7)
	qMergeMembershipOps = membershipSQL("$8::jsonb", "tourd_apply_ops((m.attributes || $6::jsonb) - $7::text[], $10::text[], $9::jsonb)", 10)
)

// membershipSQL returns a merge of membership attributes that reads and
// locks the membership first, as upsertSQL does, and records its change.
func membershipSQL(created, merged string, nargs int) string {
	return `WITH old AS MATERIALIZED (SELECT m.attributes FROM memberships m
			JOIN users u ON u.id = m.user_id JOIN companies c ON c.id = m.company_id
			WHERE u.environment_id = $2 AND u.external_id = $3 AND c.environment_id = $2 AND c.external_id = $4
			FOR UPDATE OF m),
		up AS (INSERT INTO memberships AS m (id, environment_id, user_id, company_id, attributes, created_at)
			SELECT $1::text, $2::text, u.id, c.id, ` + created + `, $5::timestamptz
			FROM users u, companies c, (SELECT count(*) FROM old) AS old_first
			WHERE u.environment_id = $2 AND u.external_id = $3 AND c.environment_id = $2 AND c.external_id = $4
			ON CONFLICT (user_id, company_id) DO UPDATE SET attributes = ` + merged + `
			WHERE ` + changes("m.attributes", "$6::jsonb", "$7::text[]", merged) + `
			RETURNING id, user_id, company_id, attributes, created_at, xmax = 0 AS created),
		` + recordSQL(membershipChanges, "$5::timestamptz", nargs, "up.id, up.user_id, up.company_id") + `
		SELECT count(*) FROM up`
}

// join is one companies[i] (attrs nil) or memberships[i] of a user upsert.
type join struct {
	company userdata.CompanyUpsert
	attrs   userdata.Attributes
}

// joinCompanies queues the company and membership writes of a user upsert
// (§9.1 steps 2 and 3), in request order; ids and definition types are
// taken in that order too. The transaction runs them in lock order (see
// stmt), which keeps request order per company: inside one transaction
// nothing can tell the two orders apart.
func (w *write) joinCompanies(userID string, joins []join) error {
	for _, j := range joins {
		w.need(userdata.ScopeCompany, j.company.Attributes)
		w.need(userdata.ScopeMembership, j.attrs)
		if err := w.joinCompany(userID, j); err != nil {
			return err
		}
	}
	return nil
}

// joinCompany queues the upsert of a company and makes sure the user is a
// member of it (see join).
func (w *write) joinCompany(userID string, j join) error {
	co := j.company
	if err := companiesTable.upsert(w, userdata.NewID(), co.ExternalID, co.Attributes, nil); err != nil {
		return err
	}
	return w.join(userID, co.ExternalID, j.attrs)
}

// join queues the statement that makes sure the user is a member of the
// company (both by external id), merging attrs into the membership, and
// records its change.
// Without attributes (the companies path, or an empty map) an existing
// membership is left untouched. The caller asks for the definitions
// (write.need).
func (w *write) join(userID, companyID string, attrs userdata.Attributes) error {
	if len(attrs) == 0 {
		w.noteRecorded(w.queueChange(phaseMemberships, "", qEnsureMembership, userdata.NewID(), w.tn.EnvironmentID, userID, companyID, w.now))
		return nil
	}
	m, err := newMerge(attrs)
	if err != nil {
		return err
	}
	if m.ops == nil {
		w.noteRecorded(w.queueChange(phaseMemberships, "", qMergeMembership, userdata.NewID(), w.tn.EnvironmentID, userID, companyID, w.now, m.set, m.del))
		return nil
	}
	created, err := attrs.Create(nil)
	if err != nil {
		return err
	}
	w.noteRecorded(w.queueChange(phaseMemberships, "", qMergeMembershipOps, userdata.NewID(), w.tn.EnvironmentID, userID, companyID, w.now,
		m.set, m.del, created, m.ops, m.opKeys))
	return nil
}

// presence is what a batch found of a row it looked for.
type presence struct{ checked, found bool }

// read is the callback of the statement that looks for the row.
func (p *presence) read(row pgx.Row) error {
	err := row.Scan(nil)
	p.checked, p.found = err == nil || errors.Is(err, pgx.ErrNoRows), err == nil
	if p.checked {
		return nil
	}
	return err
}

// missing reports whether the row was looked for and not found.
func (p *presence) missing() bool { return p.checked && !p.found }

// qMembership reads the membership of a user in a company, both by
// external id.
const qMembership = `SELECT m.id, m.user_id, m.company_id, m.attributes, m.created_at FROM memberships m
	JOIN users u ON u.id = m.user_id JOIN companies c ON c.id = m.company_id
	WHERE u.environment_id = $1 AND u.external_id = $2 AND c.environment_id = $1 AND c.external_id = $3`

// UpsertMembership creates the membership of an existing user in an
// existing company, or merges attrs into it, as a user upsert's
// memberships[] do, in one transaction and one batch: the company and the
// user are locked against deletion (in the lock order of stmt), the
// membership merged and read back, its definitions ensured. The
// transaction is rolled back when either is missing, so nothing is
// defined then.
func (s *Store) UpsertMembership(ctx context.Context, tn userdata.Tenant, companyID, userID string, attrs userdata.Attributes) (*userdata.Membership, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(companyID) {
		return nil, userdata.NotFound(userdata.ResourceCompany)
	}
	if !storable(userID) {
		return nil, userdata.NotFound(userdata.ResourceUser)
	}
	var m *userdata.Membership
	err := s.retry(ctx, "upsert membership", func() error {
		w := s.newWrite(tn)
		var company, user presence
		w.queue(phaseCompanies, "", qLockCompany, tn.EnvironmentID, companyID).QueryRow(company.read)
		w.queue(phaseUsers, "", qLockUser, tn.EnvironmentID, userID).QueryRow(user.read)
		w.need(userdata.ScopeMembership, attrs)
		if err := w.join(userID, companyID, attrs); err != nil {
			return err
		}
		m = &userdata.Membership{}
		w.queue(phaseMemberships, "", qMembership, tn.EnvironmentID, userID, companyID).QueryRow(func(row pgx.Row) error {
			var attrs []byte
			err := row.Scan(&m.ID, &m.UserID, &m.CompanyID, &attrs, &m.CreatedAt)
			m.Attributes = compact(attrs)
			if errors.Is(err, pgx.ErrNoRows) && (company.missing() || user.missing()) {
				return nil
			}
			return err
		})
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			err := tx.SendBatch(ctx, batch(w)).Close()
			switch {
			case company.missing():
				return userdata.NotFound(userdata.ResourceCompany)
			case user.missing():
				return userdata.NotFound(userdata.ResourceUser)
			}
			return err
		})
		if err == nil {
			w.defs.committed()
		}
		if err == nil && w.recorded {
			s.changes.Notify()
		}
		return err
	})
	if err != nil {
		return nil, translate("upsert membership", err)
	}
	return m, nil
}

// qDeleteMembership removes a membership, recording its deletion ($4, of
// seq $5, at $6), and answers with its id.
const qDeleteMembership = `WITH gone AS (DELETE FROM memberships m USING users u, companies c
		WHERE m.user_id = u.id AND m.company_id = c.id
		AND u.environment_id = $1 AND u.external_id = $2 AND c.environment_id = $1 AND c.external_id = $3
		RETURNING m.id, m.user_id, m.company_id, m.attributes, m.created_at),
	rec AS (INSERT INTO changes (id, environment_id, type, created_at, seq, object_id, user_id, company_id, object_created_at, attributes)
		SELECT $4, $1, '` + userdata.ChangeMembershipDeleted + `', $6, $5, id, user_id, company_id, created_at, attributes FROM gone
		RETURNING object_id, environment_id),
	` + sealCTE + `
	SELECT object_id FROM rec`

// DeleteMembership removes the membership linking two entities given by
// external ids, recording its deletion, and returns its internal id. It
// returns CodeNotFound for ResourceMembership when either is missing or
// they are not linked.
func (s *Store) DeleteMembership(ctx context.Context, tn userdata.Tenant, userID, companyID string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(userID) || !storable(companyID) {
		return "", userdata.NotFound(userdata.ResourceMembership)
	}
	var id string
	changeID, seq, now := userdata.NewChangeID(), s.nextSeq(), s.now()
	err := s.retry(ctx, "delete membership", func() error {
		return s.pool.QueryRow(ctx, qDeleteMembership, tn.EnvironmentID, userID, companyID, changeID, seq, now).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", userdata.NotFound(userdata.ResourceMembership)
	}
	if err != nil {
		return "", translate("delete membership", err)
	}
	s.changes.Notify()
	return id, nil
}

// memberSide reads memberships from one side: the user side reads each
// with its Company, the company side each with its User.
type memberSide struct {
	query       string
	withCompany bool
}

func newMemberSide(ownerCol, otherCol, otherTable string) memberSide {
	return memberSide{
		query: `SELECT m.id, m.user_id, m.company_id, m.attributes, m.created_at,
			o.id, o.external_id, o.attributes, o.created_at
			FROM memberships m JOIN ` + otherTable + ` o ON o.id = m.` + otherCol + `
			WHERE m.` + ownerCol + ` = ANY($1) ORDER BY m.created_at, m.id`,
		withCompany: ownerCol == "user_id",
	}
}

var (
	userSide    = newMemberSide("user_id", "company_id", "companies")
	companySide = newMemberSide("company_id", "user_id", "users")
)

// members reads the memberships of the given owners, oldest first, in one
// query.
func (s *Store) members(ctx context.Context, side memberSide, ownerIDs []string) ([]*userdata.Membership, error) {
	if len(ownerIDs) == 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, side.query, ownerIDs)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.Membership, error) {
		return side.scan(r)
	})
}

func (side memberSide) scan(r pgx.Row) (*userdata.Membership, error) {
	m := &userdata.Membership{}
	o := &entity{}
	var attrs, oAttrs []byte
	if err := r.Scan(&m.ID, &m.UserID, &m.CompanyID, &attrs, &m.CreatedAt, &o.id, &o.externalID, &oAttrs, &o.createdAt); err != nil {
		return nil, err
	}
	m.Attributes, o.attributes = compact(attrs), compact(oAttrs)
	if side.withCompany {
		m.Company = o.company()
	} else {
		m.User = o.user()
	}
	return m, nil
}

// userMembers reads the memberships of users, each with its company.
func (s *Store) userMembers(ctx context.Context, userIDs []string) ([]*userdata.Membership, error) {
	return s.members(ctx, userSide, userIDs)
}

// companyMembers reads the memberships of companies, each with its user.
func (s *Store) companyMembers(ctx context.Context, companyIDs []string) ([]*userdata.Membership, error) {
	return s.members(ctx, companySide, companyIDs)
}
