package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"tourd/internal/userdata"
)

// CreateProject creates a project with its primary environment, seeded
// with the predefined definitions.
func (s *Store) CreateProject(ctx context.Context, name string) (*userdata.Project, error) {
	var p *userdata.Project
	err := s.write(ctx, func(w *wtx) (err error) {
		p, err = w.createProject(name, userdata.PrimaryEnvironment)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

const (
	environmentColumns = "id, project_id, name, is_primary, token, created_at, updated_at"
	qEnvironment       = "SELECT " + environmentColumns + " FROM environments WHERE deleted_at IS NULL"
)

// ListProjects returns every project, oldest first, with its live
// environments in creation order.
func (s *Store) ListProjects(ctx context.Context) ([]*userdata.Project, error) {
	projects, err := s.listProjects(ctx)
	return projects, s.fault(err)
}

func (s *Store) listProjects(ctx context.Context) ([]*userdata.Project, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, name, created_at FROM projects ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var projects []*userdata.Project
	for rows.Next() {
		p := &userdata.Project{}
		var created int64
		if err := rows.Scan(&p.ID, &p.Name, &created); err != nil {
			return nil, err
		}
		p.CreatedAt = fromMicros(created)
		projects = append(projects, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	envRows, err := s.r.QueryContext(ctx, qEnvironment+" ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer envRows.Close()
	var envs []*userdata.Environment
	for envRows.Next() {
		e, err := scanEnvironment(envRows)
		if err != nil {
			return nil, err
		}
		envs = append(envs, &e)
	}
	userdata.GroupEnvironments(projects, envs)
	return projects, envRows.Err()
}

func scanEnvironment(r interface{ Scan(...any) error }) (userdata.Environment, error) {
	var e userdata.Environment
	var created, updated int64
	err := r.Scan(&e.ID, &e.ProjectID, &e.Name, &e.IsPrimary, &e.Token, &created, &updated)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, err
}

// projectExists returns CodeNotFound for ResourceProject unless there is a
// project with the given id.
func projectExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM projects WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return userdata.NotFound(userdata.ResourceProject)
	}
	return err
}

// CreateEnvironment adds a non-primary environment to a project. It returns
// CodeNotFound for ResourceProject when there is no such project.
func (s *Store) CreateEnvironment(ctx context.Context, projectID, name string) (*userdata.Environment, error) {
	var e *userdata.Environment
	err := s.write(ctx, func(w *wtx) error {
		if err := projectExists(w.ctx, w.q, projectID); err != nil {
			return err
		}
		var err error
		e, err = w.createEnvironment(projectID, name, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Environment returns a live environment by id: from the cache, or read
// and cached. It returns CodeNotFound for ResourceEnvironment when there
// is none.
func (s *Store) Environment(ctx context.Context, id string) (*userdata.Environment, error) {
	e, err := s.envs.Get(ctx, id, s.lookupEnvironment)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *Store) lookupEnvironment(ctx context.Context, id string) (userdata.Environment, error) {
	e, err := scanEnvironment(s.r.QueryRowContext(ctx, qEnvironment+" AND id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, userdata.NotFound(userdata.ResourceEnvironment)
	}
	return e, s.fault(err)
}

// ListEnvironments returns a page of the project's live environments.
func (s *Store) ListEnvironments(ctx context.Context, projectID string, f userdata.EnvironmentFilter) (*userdata.List[*userdata.Environment], error) {
	l := &listing{table: "environments", scopeCol: "project_id", scope: projectID}
	l.where("deleted_at IS NULL")
	l.whereNameContains(f.Name, "name")
	envs, err := list(ctx, s.r, l, f.PageRequest, environmentColumns, func(r scanner) (*userdata.Environment, string, error) {
		e, err := scanEnvironment(r)
		return &e, e.ID, err
	})
	return envs, s.fault(err)
}

// UpdateEnvironment renames a live environment of the project, and signals
// every process using the database to forget what it caches of it.
func (s *Store) UpdateEnvironment(ctx context.Context, projectID, id, name string) (*userdata.Environment, error) {
	if err := userdata.CheckName("environment", name); err != nil {
		return nil, err
	}
	var e userdata.Environment
	err := s.write(ctx, func(w *wtx) (err error) {
		e, err = scanEnvironment(w.q.QueryRowContext(w.ctx, `UPDATE environments SET name = ?, updated_at = ?
			WHERE id = ? AND project_id = ? AND deleted_at IS NULL RETURNING `+environmentColumns,
			name, micros(w.now), id, projectID))
		if errors.Is(err, sql.ErrNoRows) {
			return userdata.NotFound(userdata.ResourceEnvironment)
		}
		w.changed = true
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, s.marker.bump()
}

// DeleteEnvironment marks a live, non-primary environment of the project
// deleted, signals every process using the database to forget it (and its
// keys), and has the purger remove its rows.
func (s *Store) DeleteEnvironment(ctx context.Context, projectID, id string) error {
	err := s.write(ctx, func(w *wtx) error {
		var primary bool
		err := w.q.QueryRowContext(w.ctx, "SELECT is_primary FROM environments WHERE id = ? AND project_id = ? AND deleted_at IS NULL",
			id, projectID).Scan(&primary)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return userdata.NotFound(userdata.ResourceEnvironment)
		case err != nil:
			return err
		case primary:
			return userdata.ErrPrimaryEnvironment()
		}
		_, err = w.exec("UPDATE environments SET deleted_at = ?, updated_at = ? WHERE id = ?", micros(w.now), micros(w.now), id)
		return err
	})
	if err != nil {
		return err
	}
	s.purger.Kick()
	return s.marker.bump()
}

// createProject inserts a project, seeded with the predefined definitions,
// and its primary environment, named envName.
func (w *wtx) createProject(name, envName string) (*userdata.Project, error) {
	if err := userdata.CheckName("project", name); err != nil {
		return nil, err
	}
	if err := userdata.CheckName("environment", envName); err != nil {
		return nil, err
	}
	p := &userdata.Project{ID: userdata.NewID(), Name: name, CreatedAt: w.now}
	if _, err := w.exec("INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)", p.ID, name, micros(w.now)); err != nil {
		return nil, err
	}
	if err := w.seedProject(p.ID); err != nil {
		return nil, err
	}
	e, err := w.createEnvironment(p.ID, envName, true)
	if err != nil {
		return nil, err
	}
	p.Environments = []*userdata.Environment{e}
	return p, nil
}

// createEnvironment inserts an environment of the project, with a new SDK
// token.
func (w *wtx) createEnvironment(projectID, name string, primary bool) (*userdata.Environment, error) {
	if err := userdata.CheckName("environment", name); err != nil {
		return nil, err
	}
	e := &userdata.Environment{ID: userdata.NewID(), ProjectID: projectID, Name: name, IsPrimary: primary,
		Token: userdata.NewEnvironmentToken(), CreatedAt: w.now, UpdatedAt: w.now}
	_, err := w.exec(`INSERT INTO environments (id, project_id, name, is_primary, token, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, projectID, name, primary, e.Token, micros(w.now), micros(w.now))
	if err != nil {
		return nil, err
	}
	return e, nil
}

// resolve picks, as userdata.Resolve does, the row ref names among those
// query selects: their id, name and project ("" for projects).
func (w *wtx) resolve(what, ref, project, query string, args ...any) (userdata.Named, bool, error) {
	rows, err := w.q.QueryContext(w.ctx, query, args...)
	if err != nil {
		return userdata.Named{}, false, err
	}
	defer rows.Close()
	var named []userdata.Named
	for rows.Next() {
		var n userdata.Named
		if err := rows.Scan(&n.ID, &n.Name, &n.Project); err != nil {
			return userdata.Named{}, false, err
		}
		named = append(named, n)
	}
	if err := rows.Err(); err != nil {
		return userdata.Named{}, false, err
	}
	return userdata.Resolve(what, ref, project, named)
}
