package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// defKey identifies an attribute definition.
type defKey struct {
	project  string
	scope    userdata.Scope
	codeName string
}

// knownDefs are the definitions the store has seen committed, so that
// writes skip inserting them again. A set holds for one epoch of the key
// cache (keyEpoch): DeleteAttributeDefinition notifies keysChannel, so
// that every process starts a new set, and the next write of a deleted
// key defines it again. A write records what it ensured in the set of the
// epoch it began in: a write that began before a deletion cannot record
// the deleted definition in the new set. While no connection listens, the
// epoch moves at every write, so no write skips a definition.
type knownDefs struct {
	epoch int64
	m     sync.Map     // defKey -> struct{}
	n     atomic.Int64 // about how many m holds
}

// knownDefs returns the set of the current epoch, starting it if needed.
func (s *Store) knownDefs() *knownDefs {
	e := s.keyEpoch.epoch()
	if k := s.defs.Load(); k != nil && k.epoch == e {
		return k
	}
	k := &knownDefs{epoch: e}
	s.defs.Store(k)
	return k
}

// pendingDefs are the definitions one write makes sure exist (§8.2), in
// processing order: a key's first value in the write gives the type of a
// new definition. Keys known to be committed are left out. checks are the
// types the write gives with data_type.
type pendingDefs struct {
	known  *knownDefs
	seen   map[defKey]bool
	list   []pendingDef
	checks []typeCheck
}

type pendingDef struct {
	key      defKey
	dataType userdata.DataType
}

// need adds a's keys in scope that need a definition, and its data_types.
func (p *pendingDefs) need(project string, scope userdata.Scope, a userdata.Attributes) {
	for _, k := range a.TypedKeys() {
		p.checks = append(p.checks, newTypeCheck(defKey{project, scope, k}, a))
	}
	for _, k := range a.Keys() {
		key := defKey{project, scope, k}
		if p.seen[key] {
			continue
		}
		if _, ok := p.known.m.Load(key); ok {
			continue
		}
		if p.seen == nil {
			p.seen = map[defKey]bool{}
		}
		p.seen[key] = true
		p.list = append(p.list, pendingDef{key, userdata.DefinitionType(a[k])})
	}
}

// committed records the definitions as existing, once their write has
// committed, so that later writes skip them.
func (p *pendingDefs) committed() {
	k := p.known
	if k.n.Load() > int64(userdata.MaxCachedDefinitions) {
		k.m.Clear()
		k.n.Store(0)
	}
	for _, d := range p.list {
		if _, loaded := k.m.LoadOrStore(d.key, struct{}{}); !loaded {
			k.n.Add(1)
		}
	}
}

// qInsertDefinitions inserts definitions given as parallel arrays, in array
// order, skipping those that exist: concurrent writers never fail on the
// unique key, and a soft-deleted definition still blocks re-creation.
const qInsertDefinitions = `INSERT INTO attribute_definitions
	(id, project_id, scope, code_name, display_name, data_type, predefined, created_at)
	SELECT d.id, $1::text, d.scope, d.code_name, d.display_name, d.data_type, $2::boolean, $3::timestamptz
	FROM unnest($4::text[], $5::integer[], $6::text[], $7::text[], $8::integer[])
		WITH ORDINALITY AS d(id, scope, code_name, display_name, data_type, n)
	ORDER BY d.n
	ON CONFLICT (project_id, scope, code_name) DO NOTHING`

// definitionRows are rows for qInsertDefinitions.
type definitionRows struct {
	ids, codeNames, displayNames []string
	scopes, dataTypes            []int32
}

func (r *definitionRows) add(scope userdata.Scope, codeName, displayName string, dt userdata.DataType) string {
	id := userdata.NewID()
	r.ids = append(r.ids, id)
	r.scopes = append(r.scopes, int32(scope))
	r.codeNames = append(r.codeNames, codeName)
	r.displayNames = append(r.displayNames, displayName)
	r.dataTypes = append(r.dataTypes, int32(dt))
	return id
}

func (r *definitionRows) queue(b *pgx.Batch, project string, predefined bool, now time.Time) {
	b.Queue(qInsertDefinitions, project, predefined, now, r.ids, r.scopes, r.codeNames, r.displayNames, r.dataTypes)
}

// queueDefinitions queues, as the last statements of a transaction, the
// insertion of the definitions its writes need, one statement per project.
// They go in (project, scope, codeName) order, so that concurrent
// transactions wait for each other's new definitions in one global order
// and cannot deadlock on them (see stmt). A key needed by several writes
// takes its type from the first.
func queueDefinitions(b *pgx.Batch, writes []*write) {
	var defs []pendingDef
	for _, w := range writes {
		defs = append(defs, w.defs.list...)
	}
	if len(defs) == 0 {
		return
	}
	slices.SortStableFunc(defs, func(a, b pendingDef) int {
		return cmp.Or(strings.Compare(a.key.project, b.key.project),
			cmp.Compare(a.key.scope, b.key.scope), strings.Compare(a.key.codeName, b.key.codeName))
	})
	now := writes[0].now
	var rows definitionRows
	for i, d := range defs {
		if i == 0 || d.key != defs[i-1].key {
			rows.add(d.key.scope, d.key.codeName, userdata.DisplayName(d.key.scope, d.key.codeName), d.dataType)
		}
		if i+1 == len(defs) || defs[i+1].key.project != d.key.project {
			rows.queue(b, d.key.project, false, now)
			rows = definitionRows{}
		}
	}
}

// qCheckDefinitionType fails the transaction (tourd_fail) when the
// definition of a key has another type than a write's data_type: $4[t+1]
// is the message for type t, empty for the type given.
const qCheckDefinitionType = `SELECT tourd_fail(($4::text[])[data_type + 1]) FROM attribute_definitions
	WHERE project_id = $1 AND scope = $2 AND code_name = $3 AND ($4::text[])[data_type + 1] <> ''`

// typeCheck is a data_type a write gives for a key: the key's definition
// must have that type, since data_type never retypes (operations.md §3).
// It runs after the transaction has inserted its new definitions, so it
// finds the definition whether it existed before, was created by an
// earlier write of the transaction (as it would exist for a write run
// after it), or was committed meanwhile by a concurrent transaction
// (whose insertion of it the transaction's own waited for).
type typeCheck struct {
	key  defKey
	msgs []string // msgs[t]: the error if the definition has type t; "" for the type given
}

func newTypeCheck(key defKey, a userdata.Attributes) typeCheck {
	c := typeCheck{key: key, msgs: make([]string, userdata.DataTypeRandomNumber+1)}
	for t := range c.msgs {
		var e *userdata.Error
		if errors.As(a.CheckDefinitionType(key.codeName, userdata.DataType(t)), &e) {
			c.msgs[t] = e.Message
		}
	}
	return c
}

func (c typeCheck) queue(b *pgx.Batch) {
	b.Queue(qCheckDefinitionType, c.key.project, int32(c.key.scope), c.key.codeName, c.msgs)
}

// queueTypeChecks queues the type checks of writes, after their new
// definitions (see typeCheck).
func queueTypeChecks(b *pgx.Batch, writes []*write) {
	for _, w := range writes {
		for _, c := range w.defs.checks {
			c.queue(b)
		}
	}
}

const (
	qInsertEventDefinitions = `INSERT INTO event_definitions (id, project_id, code_name, display_name, predefined, created_at)
		SELECT d.id, $1::text, d.code_name, d.display_name, true, $2::timestamptz
		FROM unnest($3::text[], $4::text[], $5::text[]) AS d(id, code_name, display_name)`
	qInsertEventLinks = `INSERT INTO event_definition_attributes (event_definition_id, attribute_definition_id)
		SELECT * FROM unnest($1::text[], $2::text[])`
)

// seedProject inserts a new project's predefined definitions and links
// (§8.6), and its built-in segments, in tx, in one round trip. Ids are made
// in the fixture's order, so that rows created at the same instant list in
// that order.
func seedProject(ctx context.Context, tx pgx.Tx, project string, now time.Time) error {
	attrs, events := userdata.Predefined()
	var rows definitionRows
	eventAttr := map[string]string{} // codeName -> id of eventDefinition-scoped attributes
	for _, a := range attrs {
		id := rows.add(a.Scope, a.CodeName, a.DisplayName, a.DataType)
		if a.Scope == userdata.ScopeEvent {
			eventAttr[a.CodeName] = id
		}
	}
	var ids, codeNames, displayNames, linkEvents, linkAttrs []string
	for _, e := range events {
		id := userdata.NewID()
		ids, codeNames, displayNames = append(ids, id), append(codeNames, e.CodeName), append(displayNames, e.DisplayName)
		for _, a := range e.Attributes {
			linkEvents, linkAttrs = append(linkEvents, id), append(linkAttrs, eventAttr[a])
		}
	}
	var b pgx.Batch
	rows.queue(&b, project, true, now)
	b.Queue(qInsertEventDefinitions, project, now, ids, codeNames, displayNames)
	b.Queue(qInsertEventLinks, linkEvents, linkAttrs)
	queueSeedSegments(&b, project, now)
	return tx.SendBatch(ctx, &b).Close()
}

// ListAttributeDefinitions returns a page of the project's attribute
// definitions. It returns CodeInvalidCursor when the cursor is not a
// definition of the project or selects an empty page.
func (s *Store) ListAttributeDefinitions(ctx context.Context, tn userdata.Tenant, f userdata.AttributeDefinitionFilter) (*userdata.List[*userdata.AttributeDefinition], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("attribute_definitions", "project_id", tn.ProjectID)
	if f.Scope != 0 {
		l.where("scope = " + l.arg(int32(f.Scope)))
	}
	if len(f.EventNames) > 0 {
		names := slices.DeleteFunc(slices.Clone(f.EventNames), func(n string) bool { return !storable(n) })
		l.where(`id IN (SELECT l.attribute_definition_id FROM event_definition_attributes l
			JOIN event_definitions e ON e.id = l.event_definition_id
			WHERE e.project_id = $1 AND e.code_name = ANY(` + l.arg(names) + `))`)
	}
	l.whereNameContains(f.Name, "code_name", "display_name")
	list, err := list(ctx, s, l, f.PageRequest, attributeDefinitionColumns,
		func(r pgx.Row) (*userdata.AttributeDefinition, string, error) {
			d, err := scanAttributeDefinition(r)
			if err != nil {
				return nil, "", err
			}
			return d, d.ID, nil
		})
	return list, translate("list attribute definitions", err)
}

// ListEventDefinitions returns a page of the project's event definitions;
// errors as ListAttributeDefinitions.
func (s *Store) ListEventDefinitions(ctx context.Context, tn userdata.Tenant, f userdata.EventDefinitionFilter) (*userdata.List[*userdata.EventDefinition], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("event_definitions", "project_id", tn.ProjectID)
	l.whereNameContains(f.Name, "code_name", "display_name")
	list, err := list(ctx, s, l, f.PageRequest, eventDefinitionColumns,
		func(r pgx.Row) (*userdata.EventDefinition, string, error) {
			d, err := scanEventDefinition(r)
			if err != nil {
				return nil, "", err
			}
			return d, d.ID, nil
		})
	return list, translate("list event definitions", err)
}
