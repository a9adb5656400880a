package sqlite

import (
	"tourd/internal/userdata"
)

// createProject inserts a project, seeded with the predefined definitions,
// and its primary environment, named envName.
func (w *wtx) createProject(name, envName string) (*userdata.Project, error) {
	if err := userdata.CheckName("project", name); err != nil {
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
