package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

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
