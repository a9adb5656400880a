package userdata

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxNameBytes bounds the names of projects, environments and tokens.
const MaxNameBytes = 255

// CheckName returns a CodeInvalid error unless name is a usable name of a
// project, environment or token (what): not blank, at most MaxNameBytes,
// valid UTF-8 without NUL characters (which PostgreSQL cannot store).
func CheckName(what, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return Errorf(CodeInvalid, "%s name must not be empty", what)
	case len(name) > MaxNameBytes:
		return Errorf(CodeInvalid, "%s name must be at most %d bytes", what, MaxNameBytes)
	case !utf8.ValidString(name) || strings.ContainsRune(name, 0):
		return Errorf(CodeInvalid, "%s name must be valid UTF-8 without NUL characters", what)
	}
	return nil
}

// Named is a project or environment as the command line names it: by id
// or by name.
type Named struct {
	ID, Name string
	Project  string // an environment's project; "" for a project
}

// Resolve picks the row that ref names among rows, those whose id or name
// is ref (v2-cli.md): the one whose id it is, since an id wins over a
// name; else the one of that name. It reports false when there is none,
// and returns a CodeInvalid error listing the ids when the name is
// ambiguous. what names the kind of row ("project", "environment"); for
// environments, project is the one they must belong to, so that the id of
// another project's environment, or of a deleted one (whose row says no
// project), is a CodeInvalid error too.
func Resolve(what, ref, project string, rows []Named) (Named, bool, error) {
	if i := slices.IndexFunc(rows, func(r Named) bool { return r.ID == ref }); i >= 0 {
		if rows[i].Project != project {
			return Named{}, false, NotLiveEnvironment(ref, project)
		}
		return rows[i], true, nil
	}
	switch len(rows) {
	case 0:
		return Named{}, false, nil
	case 1:
		return rows[0], true, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return Named{}, false, Errorf(CodeInvalid, "%s name %q matches %d %ss: %s; give the id of one", what, ref, len(rows), what, strings.Join(ids, ", "))
}

// PrimaryEnvironment is the name of the primary environment CreateProject
// gives a new project.
const PrimaryEnvironment = "Production"

// NewEnvironmentToken returns a new environment SDK token: 32 lowercase
// hexadecimal digits (128 random bits), the form migrations give the
// environments that existed before.
func NewEnvironmentToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never returns an error (crypto/rand)
	return hex.EncodeToString(b)
}

// Project is a tenant of the v2 API: it owns definitions and environments.
type Project struct {
	ID           string
	Name         string
	CreatedAt    time.Time
	Environments []*Environment // in creation order, the primary first
}

// Environment is a project's environment: it owns users, companies,
// memberships and events.
type Environment struct {
	ID        string
	ProjectID string
	Name      string
	IsPrimary bool
	// Token is the environment's public SDK token: a random, stable public
	// identifier, not a credential of this API.
	Token     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrPrimaryEnvironment is the error of deleting a project's primary
// environment.
func ErrPrimaryEnvironment() error {
	return Errorf(CodePrimaryEnvironment, "Cannot delete the primary environment. Every project keeps its primary environment; delete the other environments instead.")
}

// GroupEnvironments appends each environment, in order, to its project
// among projects; environments of other projects are left out.
func GroupEnvironments(projects []*Project, envs []*Environment) {
	byID := make(map[string]*Project, len(projects))
	for _, p := range projects {
		byID[p.ID] = p
	}
	for _, e := range envs {
		if p := byID[e.ProjectID]; p != nil {
			p.Environments = append(p.Environments, e)
		}
	}
}

// NotLiveEnvironment is the error of an environment id that is not one of
// a project's live environments.
func NotLiveEnvironment(envID, projectID string) error {
	return Errorf(CodeInvalid, "environment %s is not a live environment of project %s", envID, projectID)
}
