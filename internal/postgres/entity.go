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
	phase                  phase // where its upserts come in the lock order
	scope                  userdata.Scope
	resource               string
	qGet, qUpsert, qDelete string
}

func newEntityTable(table string, p phase, scope userdata.Scope, resource string, hasEmail bool) *entityTable {
	// Users keep attributes.email in a column of its own (0003_user_email.sql).
	emailCol, emailVal, emailSet := "", "", ""
	if hasEmail {
		emailCol = ", email"
		emailVal = ", tourd_email($4::jsonb || $5::jsonb)"
		emailSet = ", email = tourd_email((t.attributes || $5::jsonb) - $7::text[])"
	}
	return &entityTable{
		phase:    p,
		scope:    scope,
		resource: resource,
		qGet:     "SELECT id, attributes, created_at FROM " + table + " WHERE environment_id = $1 AND external_id = $2",
		// One statement creates the entity with the seed overlaid by the
		// new values, or merges into what is stored (§8.1): jsonb || is a
		// shallow merge per top-level key, and - removes the null keys.
		// The row lock it takes orders concurrent merges; none is lost.
		qUpsert: "INSERT INTO " + table + ` AS t (id, environment_id, external_id, attributes, created_at` + emailCol + `)
			VALUES ($1, $2, $3, $4::jsonb || $5::jsonb, $6` + emailVal + `)
			ON CONFLICT (environment_id, external_id) DO UPDATE SET attributes = (t.attributes || $5::jsonb) - $7::text[]` + emailSet + `
			RETURNING id, attributes, created_at, xmax = 0`,
		qDelete: "DELETE FROM " + table + " WHERE environment_id = $1 AND external_id = $2",
	}
}

var (
	usersTable     = newEntityTable("users", phaseUsers, userdata.ScopeUser, userdata.ResourceUser, true)
	companiesTable = newEntityTable("companies", phaseCompanies, userdata.ScopeCompany, userdata.ResourceCompany, false)
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

// upsert queues the upsert of one entity (§8, §8.5); id is its id if the
// statement creates it. done, when not nil, receives the stored row and
// whether the statement created it. The caller asks for the definitions
// (write.need).
func (t *entityTable) upsert(w *write, id, externalID string, a userdata.Attributes, done func(e *entity, created bool)) error {
	set, del, err := split(a)
	if err != nil {
		return err
	}
	q := w.queue(t.phase, w.tn.EnvironmentID+"\x00"+externalID, t.qUpsert, id, w.tn.EnvironmentID, externalID,
		userdata.SeedAttributes(w.now), set, w.now, del)
	if done != nil {
		q.QueryRow(func(row pgx.Row) error {
			e := &entity{externalID: externalID}
			var attrs []byte
			var created bool
			if err := row.Scan(&e.id, &attrs, &e.createdAt, &created); err != nil {
				return err
			}
			e.attributes = compact(attrs)
			done(e, created)
			return nil
		})
	}
	return nil
}

// remove deletes the entity; its memberships go with it (ON DELETE CASCADE).
func (t *entityTable) remove(ctx context.Context, s *Store, envID, externalID string) error {
	if !storable(externalID) {
		return userdata.NotFound(t.resource)
	}
	n, err := s.exec(ctx, "delete "+t.resource, t.qDelete, envID, externalID)
	if err == nil && n == 0 {
		err = userdata.NotFound(t.resource)
	}
	return err
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
