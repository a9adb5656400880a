package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// entityTable is one of the two tables of attribute-carrying entities keyed
// by an external id: users and companies. Its queries are built once from
// fixed names.
type entityTable struct {
	phase    phase // where its upserts come in the lock order
	scope    userdata.Scope
	resource string
	qGet     string
	// The upserts (see upsertSQL): with literal values only, answering
	// with the stored row or not, and with operations (always answering).
	qUpsert, qUpsertQuiet, qUpsertOps string
	qRemove                           string
}

// newEntityTable returns the queries of table; stored is the function that
// reads one of its rows (0005_operations.sql), types the types of its
// changes.
func newEntityTable(table, stored string, p phase, scope userdata.Scope, resource string, hasEmail bool, types changeTypes) *entityTable {
	plain := upsertSQL(table, hasEmail, types, "$4::jsonb || $5::jsonb", "(t.attributes || $5::jsonb) - $7::text[]", false, 7)
	ops := upsertSQL(table, hasEmail, types, "$4::jsonb", "tourd_apply_ops((t.attributes || $5::jsonb) - $7::text[], $9::text[], $8::jsonb)", true, 10)
	return &entityTable{
		phase:        p,
		scope:        scope,
		resource:     resource,
		qGet:         "SELECT id, attributes, created_at FROM " + table + " WHERE environment_id = $1 AND external_id = $2",
		qUpsert:      plain + answering(stored, "created"),
		qUpsertQuiet: plain + "SELECT count(*) FROM up",
		// $10, when not NULL, is the error of creating the entity (see
		// createWithOps): the statement fails with it if it does.
		qUpsertOps: ops + answering(stored, "CASE WHEN created AND $10::text IS NOT NULL THEN tourd_fail($10) ELSE created END"),
		// The deletion records its change ($3, of seq $4, at $5).
		qRemove: `WITH gone AS (DELETE FROM ` + table + ` WHERE environment_id = $1 AND external_id = $2
				RETURNING external_id, attributes, created_at),
			rec AS (INSERT INTO changes (id, environment_id, type, created_at, seq, object_id, object_created_at, attributes)
				SELECT $3, $1, '` + types[2] + `', $5, $4, external_id, created_at, attributes FROM gone
				RETURNING environment_id)
			INSERT INTO change_commits (environment_id) SELECT environment_id FROM rec`,
	}
}

// upsertSQL returns the statement, but for the SELECT it answers with
// (which reads up), that creates an entity of table with the attributes
// created, or merges into what is stored (§8.1), and records the change it
// makes (see recordSQL; the change's id and seq are the parameters after
// the nargs of the upsert). merged is the result of the merge, computed
// from the stored row t. With literal values only, created is the seed
// overlaid by the new values and merged is t.attributes || the new values -
// the null keys: jsonb || is a shallow merge per top-level key. With
// operations, created is computed in Go (Attributes.Create) and merged
// applies them (tourd_apply_ops).
//
// The row lock the statement takes orders concurrent merges; none is
// lost, and operations apply to the row as it is once locked. A merge that
// changes nothing updates nothing (the row keeps its version; up has no
// row for it, and no change is recorded): see changes. old reads and locks
// the stored row before the upsert does (the upsert's source, old_first,
// scans it): in READ COMMITTED a row locked is its latest version, so old
// is what the merge applies to, the attributes before the change.
//
// Users keep attributes.email in a column of its own (0003_user_email.sql);
// costly says to compute merged once for both columns.
func upsertSQL(table string, hasEmail bool, types changeTypes, created, merged string, costly bool, nargs int) string {
	emailCol, emailVal, set := "", "", "attributes = "+merged
	switch {
	case hasEmail && costly:
		emailCol, emailVal = ", email", ", tourd_email("+created+")"
		set = "(attributes, email) = (SELECT n, tourd_email(n) FROM (SELECT " + merged + " AS n OFFSET 0) m)" // OFFSET 0: one subquery, not merged copied into each column
	case hasEmail:
		emailCol, emailVal = ", email", ", tourd_email("+created+")"
		set += ", email = tourd_email(" + merged + ")"
	}
	return `WITH old AS MATERIALIZED (SELECT attributes FROM ` + table + ` WHERE environment_id = $2 AND external_id = $3 FOR UPDATE),
		up AS (INSERT INTO ` + table + ` AS t (id, environment_id, external_id, attributes, created_at` + emailCol + `)
			SELECT $1::text, $2::text, $3::text, ` + created + `, $6::timestamptz` + emailVal + ` FROM (SELECT count(*) FROM old) AS old_first
			ON CONFLICT (environment_id, external_id) DO UPDATE SET ` + set + `
			WHERE ` + changes("t.attributes", "$5::jsonb", "$7::text[]", merged) + `
			RETURNING id, external_id, attributes, created_at, xmax = 0 AS created),
		` + recordSQL(types, "$6::timestamptz", nargs, "up.external_id, NULL, NULL") + `
		`
}

// changes is the condition that merging into the stored attributes
// changes them: merged differs from stored. Most writes that change
// something change a value sent as a literal (set) or remove a key (del),
// which cheaper tests show first: a value not contained in the stored one
// differs from it.
func changes(stored, set, del, merged string) string {
	return "NOT (" + stored + " @> " + set + ") OR " + stored + " ?| " + del + " OR " + stored + " <> " + merged
}

// answering ends an upsert so that it answers with the stored row, whether
// it created it, and whether it changed it, also when it changed nothing:
// the row is then read by the function stored, which takes a snapshot of
// its own, since the row the upsert locked may have been committed after
// the statement's snapshot (by a concurrent upsert that created it). The
// upsert still holds its lock, so that is the row as the transaction
// leaves it.
func answering(stored, created string) string {
	return `SELECT id, attributes, created_at, ` + created + `, true FROM up
		UNION ALL
		SELECT id, attributes, created_at, false, false FROM ` + stored + `($2, $3) WHERE NOT EXISTS (SELECT FROM up)`
}

var (
	usersTable     = newEntityTable("users", "tourd_stored_user", phaseUsers, userdata.ScopeUser, userdata.ResourceUser, true, userChanges)
	companiesTable = newEntityTable("companies", "tourd_stored_company", phaseCompanies, userdata.ScopeCompany, userdata.ResourceCompany, false,
		companyChanges)
)

// entity is a stored user or company row.
type entity struct {
	id, externalID string
	attributes     json.RawMessage
	createdAt      time.Time
}

func (e *entity) user() *userdata.User {
	return &userdata.User{ID: e.id, ExternalID: e.externalID, Attributes: e.attributes, CreatedAt: e.createdAt}
}

func (e *entity) company() *userdata.Company {
	return &userdata.Company{ID: e.id, ExternalID: e.externalID, Attributes: e.attributes, CreatedAt: e.createdAt}
}

// get reads one entity by external id, or returns CodeNotFound. Concurrent
// gets share round trips (see Store.reads).
func (t *entityTable) get(ctx context.Context, s *Store, envID, externalID string) (*entity, error) {
	if !storable(externalID) {
		return nil, userdata.NotFound(t.resource)
	}
	l := &lookup{table: t, envID: envID, externalID: externalID}
	if err := s.reads.do(ctx, l); err != nil {
		return nil, err
	}
	if l.found == nil {
		return nil, userdata.NotFound(t.resource)
	}
	return l.found, nil
}

// lookup is one get: the entity asked for, and the one found.
type lookup struct {
	table             *entityTable
	envID, externalID string
	found             *entity
}

// runLookups reads a group of lookups in one round trip: one statement
// each, pipelined. (One statement with = ANY($2) would cost the server
// less per lookup, but PostgreSQL plans it anew for each array length.)
func (s *Store) runLookups(ctx context.Context, group []*call[*lookup]) {
	var b pgx.Batch
	for _, c := range group {
		l := c.item
		b.Queue(l.table.qGet, l.envID, l.externalID).QueryRow(func(row pgx.Row) error {
			e := &entity{externalID: l.externalID}
			var attrs []byte
			err := row.Scan(&e.id, &attrs, &e.createdAt)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			e.attributes, l.found = compact(attrs), e
			return nil
		})
	}
	err := s.pool.SendBatch(ctx, &b).Close()
	for _, c := range group {
		c.err = err
	}
}

// upsert queues the upsert of one entity (§8, §8.5), which records its
// change; id is its id if the statement creates it. done, when not nil,
// receives the stored row and whether the statement created it. The
// caller asks for the definitions (write.need).
func (t *entityTable) upsert(w *write, id, externalID string, a userdata.Attributes, done func(e *entity, created bool)) error {
	m, err := newMerge(a)
	if err != nil {
		return err
	}
	key, seed := w.tn.EnvironmentID+"\x00"+externalID, userdata.SeedAttributes(w.now)
	var q *pgx.QueuedQuery
	switch {
	case m.ops != nil:
		created, createErr, err := createWithOps(a, seed)
		if err != nil {
			return err
		}
		q = w.queueChange(t.phase, key, t.qUpsertOps, id, w.tn.EnvironmentID, externalID, created, m.set, w.now, m.del, m.ops, m.opKeys, createErr)
	case done != nil:
		q = w.queueChange(t.phase, key, t.qUpsert, id, w.tn.EnvironmentID, externalID, seed, m.set, w.now, m.del)
	default:
		w.noteRecorded(w.queueChange(t.phase, key, t.qUpsertQuiet, id, w.tn.EnvironmentID, externalID, seed, m.set, w.now, m.del))
		return nil
	}
	q.QueryRow(func(row pgx.Row) error {
		e := &entity{externalID: externalID}
		var attrs []byte
		var created, changed bool
		if err := row.Scan(&e.id, &attrs, &e.createdAt, &created, &changed); err != nil {
			return err
		}
		e.attributes = compact(attrs)
		w.recorded = w.recorded || changed
		if done != nil {
			done(e, created)
		}
		return nil
	})
	return nil
}

// createWithOps returns the attributes of an entity that an upsert with
// operations creates: a applied to seed, in Go, as on SQLite. When an
// operation cannot apply to a seeded key (add to first_seen_at), creating
// the entity fails but merging into a stored one may not (whose key may
// be gone): it then returns seed, to be inserted in vain, and the message
// the statement fails with if it creates the entity.
func createWithOps(a userdata.Attributes, seed json.RawMessage) (json.RawMessage, *string, error) {
	created, err := a.Create(seed)
	var invalid *userdata.Error
	if errors.As(err, &invalid) && invalid.Code == userdata.CodeInvalid {
		return seed, &invalid.Message, nil
	}
	return created, nil, err
}

// remove deletes the entity, recording its deletion; its memberships go
// with it (ON DELETE CASCADE), recording nothing.
func (t *entityTable) remove(ctx context.Context, s *Store, envID, externalID string) error {
	if !storable(externalID) {
		return userdata.NotFound(t.resource)
	}
	n, err := s.exec(ctx, "delete "+t.resource, t.qRemove, envID, externalID, userdata.NewChangeID(), s.nextSeq(), s.now())
	switch {
	case err != nil:
		return err
	case n == 0:
		return userdata.NotFound(t.resource)
	}
	s.changes.Notify()
	return nil
}

// entityColumns are the columns scanEntity reads.
const entityColumns = "id, external_id, attributes, created_at"

func scanEntity(r pgx.Row) (*entity, error) {
	var e entity
	var attrs []byte
	if err := r.Scan(&e.id, &e.externalID, &attrs, &e.createdAt); err != nil {
		return nil, err
	}
	e.attributes = compact(attrs)
	return &e, nil
}

// compact returns stored jsonb as compact JSON, the form the SQLite backend
// stores: PostgreSQL prints jsonb with a space after each colon and comma.
// It drops the whitespace outside strings, which for valid JSON (as
// PostgreSQL's output is) is what json.Compact does, without validating.
// Numbers are printed as the SQLite backend stores them (see jsNumber).
func compact(b []byte) json.RawMessage {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' && i+1 < len(b) {
				out = append(out, c)
				i++
				c = b[i]
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			continue
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.') {
				j++
			}
			out = jsNumber(out, b[i:j])
			i = j - 1
			continue
		}
		out = append(out, c)
	}
	return out
}

// jsNumber appends a number as PostgreSQL prints it (plain decimal, never
// an exponent), reformatted as JavaScript's JSON.stringify, and so the
// SQLite backend, prints it where the two differ: with an exponent from
// 1e21 up and below 1e-6. The stored values are doubles (see
// userdata.Attributes), so nothing is lost.
func jsNumber(out, num []byte) []byte {
	digits := bytes.TrimPrefix(num, []byte("-"))
	intPart, _, _ := bytes.Cut(digits, []byte("."))
	if len(intPart) >= 22 || bytes.HasPrefix(digits, []byte("0.000000")) {
		if f, err := strconv.ParseFloat(string(num), 64); err == nil {
			if js, err := json.Marshal(f); err == nil {
				return append(out, js...)
			}
		}
	}
	return append(out, num...)
}
