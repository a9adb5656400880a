package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// transact runs fn in a transaction stamped now, under the store's
// deadline, again while it fails for a reason a new attempt can cure (see
// retry), and translates its error.
func (s *Store) transact(ctx context.Context, op string, fn func(ctx context.Context, tx pgx.Tx, now time.Time) error) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.retry(ctx, op, func() error {
		now := s.now()
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx, now) })
	})
	return translate(op, err)
}

// CreateProject creates a project with its primary environment, seeded
// with the predefined definitions.
func (s *Store) CreateProject(ctx context.Context, name string) (*userdata.Project, error) {
	var p *userdata.Project
	err := s.transact(ctx, "create project", func(ctx context.Context, tx pgx.Tx, now time.Time) (err error) {
		p, err = createProject(ctx, tx, name, userdata.PrimaryEnvironment, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

const (
	qListProjects      = `SELECT id, name, created_at FROM projects ORDER BY created_at, id`
	environmentColumns = "id, project_id, name, is_primary, token, created_at, updated_at"
	qEnvironment       = "SELECT " + environmentColumns + " FROM environments WHERE deleted_at IS NULL"
)

// ListProjects returns every project, oldest first, with its live
// environments in creation order.
func (s *Store) ListProjects(ctx context.Context) ([]*userdata.Project, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, _ := s.pool.Query(ctx, qListProjects)
	projects, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.Project, error) {
		p := &userdata.Project{}
		return p, r.Scan(&p.ID, &p.Name, &p.CreatedAt)
	})
	if err != nil {
		return nil, translate("list projects", err)
	}
	rows, _ = s.pool.Query(ctx, qEnvironment+" ORDER BY created_at, id")
	envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.Environment, error) {
		e, err := scanEnvironment(r)
		return &e, err
	})
	if err != nil {
		return nil, translate("list projects", err)
	}
	userdata.GroupEnvironments(projects, envs)
	return projects, nil
}

func scanEnvironment(r pgx.Row) (userdata.Environment, error) {
	var e userdata.Environment
	err := r.Scan(&e.ID, &e.ProjectID, &e.Name, &e.IsPrimary, &e.Token, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

const qProjectExists = `SELECT EXISTS (SELECT FROM projects WHERE id = $1)`

// projectExists returns CodeNotFound for ResourceProject unless there is a
// project with the given id.
func projectExists(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) error {
	var ok bool
	if err := q.QueryRow(ctx, qProjectExists, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return userdata.NotFound(userdata.ResourceProject)
	}
	return nil
}

// CreateEnvironment adds a non-primary environment to a project. It returns
// CodeNotFound for ResourceProject when there is no such project.
func (s *Store) CreateEnvironment(ctx context.Context, projectID, name string) (*userdata.Environment, error) {
	if !storable(projectID) {
		return nil, userdata.NotFound(userdata.ResourceProject)
	}
	var e *userdata.Environment
	err := s.transact(ctx, "create environment", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		if err := projectExists(ctx, tx, projectID); err != nil {
			return err
		}
		var err error
		e, err = createEnvironment(ctx, tx, projectID, name, false, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Environment returns a live environment by id: from the cache, or read
// and cached. It returns CodeNotFound for ResourceEnvironment when there
// is none, and CodeUnavailable when it is not cached and the database
// cannot be asked.
func (s *Store) Environment(ctx context.Context, id string) (*userdata.Environment, error) {
	e, err := s.envs.Get(ctx, id, s.lookupEnvironment)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *Store) lookupEnvironment(ctx context.Context, id string) (userdata.Environment, error) {
	if !storable(id) {
		return userdata.Environment{}, userdata.NotFound(userdata.ResourceEnvironment)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	e, err := scanEnvironment(s.pool.QueryRow(ctx, qEnvironment+" AND id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, userdata.NotFound(userdata.ResourceEnvironment)
	}
	return e, translate("environment", err)
}

// ListEnvironments returns a page of the project's live environments. It
// returns CodeInvalidCursor when the cursor is not an environment of the
// project or selects an empty page.
func (s *Store) ListEnvironments(ctx context.Context, projectID string, f userdata.EnvironmentFilter) (*userdata.List[*userdata.Environment], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("environments", "project_id", projectID)
	l.where("deleted_at IS NULL")
	if !storable(projectID) {
		l.where("false")
	}
	l.whereNameContains(f.Name, "name")
	list, err := list(ctx, s, l, f.PageRequest, environmentColumns, func(r pgx.Row) (*userdata.Environment, string, error) {
		e, err := scanEnvironment(r)
		return &e, e.ID, err
	})
	return list, translate("list environments", err)
}

// qRenameEnvironment renames a live environment and, on commit, tells every
// tourd process listening to forget what it caches (see listenKeys).
const qRenameEnvironment = `WITH e AS (UPDATE environments SET name = $3, updated_at = $4
		WHERE id = $1 AND project_id = $2 AND deleted_at IS NULL RETURNING ` + environmentColumns + `)
	SELECT e.*, pg_notify('` + keysChannel + `', '') FROM e`

// UpdateEnvironment renames a live environment of the project, for every
// process at once (see notifying).
func (s *Store) UpdateEnvironment(ctx context.Context, projectID, id, name string) (*userdata.Environment, error) {
	if err := userdata.CheckName("environment", name); err != nil {
		return nil, err
	}
	if !storable(projectID) || !storable(id) {
		return nil, userdata.NotFound(userdata.ResourceEnvironment)
	}
	var e userdata.Environment
	err := s.notifying(ctx, func(ctx context.Context) error {
		err := s.retry(ctx, "update environment", func() error {
			return s.pool.QueryRow(ctx, qRenameEnvironment, id, projectID, name, s.now()).
				Scan(&e.ID, &e.ProjectID, &e.Name, &e.IsPrimary, &e.Token, &e.CreatedAt, &e.UpdatedAt, nil)
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return userdata.NotFound(userdata.ResourceEnvironment)
		}
		return translate("update environment", err)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// qDeleteEnvironment marks a live, non-primary environment deleted, and
// returns whether it is the primary (no row: no such environment). When it
// deletes, it tells every tourd process listening, on commit, to forget
// what it caches.
const qDeleteEnvironment = `WITH e AS (SELECT id, is_primary FROM environments
		WHERE id = $1 AND project_id = $2 AND deleted_at IS NULL FOR UPDATE),
	d AS (UPDATE environments SET deleted_at = $3, updated_at = $3 WHERE id = (SELECT id FROM e WHERE NOT is_primary))
	SELECT is_primary, CASE WHEN NOT is_primary THEN pg_notify('` + keysChannel + `', '') END FROM e`

// DeleteEnvironment marks a live, non-primary environment of the project
// deleted, for every process at once (see notifying), and has the purger
// remove its rows.
func (s *Store) DeleteEnvironment(ctx context.Context, projectID, id string) error {
	if !storable(projectID) || !storable(id) {
		return userdata.NotFound(userdata.ResourceEnvironment)
	}
	err := s.notifying(ctx, func(ctx context.Context) error {
		var primary bool
		err := s.retry(ctx, "delete environment", func() error {
			return s.pool.QueryRow(ctx, qDeleteEnvironment, id, projectID, s.now()).Scan(&primary, nil)
		})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return userdata.NotFound(userdata.ResourceEnvironment)
		case err == nil && primary:
			return userdata.ErrPrimaryEnvironment()
		}
		return translate("delete environment", err)
	})
	if err == nil {
		s.purger.Kick()
	}
	return err
}

const (
	qInsertProject     = `INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)`
	qInsertEnvironment = `INSERT INTO environments (id, project_id, name, is_primary, token, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`
)

// createProject inserts a project, seeded with the predefined definitions,
// and its primary environment, named envName.
func createProject(ctx context.Context, tx pgx.Tx, name, envName string, now time.Time) (*userdata.Project, error) {
	if err := userdata.CheckName("project", name); err != nil {
		return nil, err
	}
	if err := userdata.CheckName("environment", envName); err != nil {
		return nil, err
	}
	p := &userdata.Project{ID: userdata.NewID(), Name: name, CreatedAt: now}
	if _, err := tx.Exec(ctx, qInsertProject, p.ID, name, now); err != nil {
		return nil, err
	}
	if err := seedProject(ctx, tx, p.ID, now); err != nil {
		return nil, err
	}
	e, err := createEnvironment(ctx, tx, p.ID, envName, true, now)
	if err != nil {
		return nil, err
	}
	p.Environments = []*userdata.Environment{e}
	return p, nil
}

// createEnvironment inserts an environment of the project, with a new SDK
// token.
func createEnvironment(ctx context.Context, tx pgx.Tx, projectID, name string, primary bool, now time.Time) (*userdata.Environment, error) {
	if err := userdata.CheckName("environment", name); err != nil {
		return nil, err
	}
	e := &userdata.Environment{ID: userdata.NewID(), ProjectID: projectID, Name: name, IsPrimary: primary,
		Token: userdata.NewEnvironmentToken(), CreatedAt: now, UpdatedAt: now}
	if _, err := tx.Exec(ctx, qInsertEnvironment, e.ID, projectID, name, primary, e.Token, now); err != nil {
		return nil, err
	}
	return e, nil
}

// resolve picks, as userdata.Resolve does, the row ref names among those
// query selects: their id, name and project ("" for projects).
func resolve(ctx context.Context, tx pgx.Tx, what, ref, project, query string, args ...any) (userdata.Named, bool, error) {
	rows, _ := tx.Query(ctx, query, args...)
	named, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (userdata.Named, error) {
		var n userdata.Named
		err := r.Scan(&n.ID, &n.Name, &n.Project)
		return n, err
	})
	if err != nil {
		return userdata.Named{}, false, err
	}
	return userdata.Resolve(what, ref, project, named)
}
