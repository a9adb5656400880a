package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// UpsertUser creates or updates a user with its companies and memberships
// in one transaction (§9.1): the user, then each companies[i], then each
// memberships[i] (see stmt for the order the statements run in).
func (s *Store) UpsertUser(ctx context.Context, tn userdata.Tenant, in *userdata.UserUpsert) (*userdata.User, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var e *entity
	var created bool
	err := s.write(ctx, "upsert user", tn, func(w *write) error {
		return w.upsertUser(in, func(r *entity, c bool) { e, created = r, c })
	})
	if err != nil {
		return nil, false, translate("upsert user", err)
	}
	return e.user(), created, nil
}

// upsertUser queues the statements of one user upsert; done receives the
// stored user.
func (w *write) upsertUser(in *userdata.UserUpsert, done func(*entity, bool)) error {
	w.need(userdata.ScopeUser, in.Attributes)
	if err := usersTable.upsert(w, userdata.NewID(), in.ExternalID, in.Attributes, done); err != nil {
		return err
	}
	joins := make([]join, 0, len(in.Companies)+len(in.Memberships))
	for _, co := range in.Companies {
		joins = append(joins, join{company: co})
	}
	for _, m := range in.Memberships {
		joins = append(joins, join{company: m.Company, attrs: m.Attributes})
	}
	return w.joinCompanies(in.ExternalID, joins)
}

// ImportUsers applies the upserts in order, as UpsertUser would, many to a
// transaction and a round trip.
func (s *Store) ImportUsers(ctx context.Context, tn userdata.Tenant, ins []*userdata.UserUpsert) []userdata.ImportResult {
	return importAll(ctx, s, tn, ins,
		func(w *write, in *userdata.UserUpsert, done func(*entity, bool)) error { return w.upsertUser(in, done) },
		func(in *userdata.UserUpsert) (bool, error) {
			_, created, err := s.UpsertUser(ctx, tn, in)
			return created, err
		})
}

// GetUser returns a user by external id, with the asked-for expansions. It
// returns CodeNotFound for ResourceUser when there is no such user.
func (s *Store) GetUser(ctx context.Context, tn userdata.Tenant, externalID string, x userdata.Expand) (*userdata.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	e, err := usersTable.get(ctx, s, tn.EnvironmentID, externalID)
	if err != nil {
		return nil, translate("get user", err)
	}
	users := []*userdata.User{e.user()}
	if err := userdata.LoadUserExpansions(ctx, users, x, s.userMembers); err != nil {
		return nil, translate("get user", err)
	}
	return users[0], nil
}

// DeleteUser deletes a user and its memberships. It returns CodeNotFound
// for ResourceUser when there is no such user.
func (s *Store) DeleteUser(ctx context.Context, tn userdata.Tenant, externalID string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return translate("delete user", usersTable.remove(ctx, s, tn.EnvironmentID, externalID))
}

// ListUsers returns a page of the environment's users. It returns
// CodeInvalidCursor when the cursor is not a user of the environment or
// selects an empty page, CodeNotFound for ResourceCompany when
// f.RequireCompany is set and f.CompanyID names no company, and the
// errors of whereAudience.
func (s *Store) ListUsers(ctx context.Context, tn userdata.Tenant, f userdata.UserFilter) (*userdata.List[*userdata.User], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	o := newOrder(f.PageRequest)
	l, err := s.usersListing(ctx, tn, f, &o)
	if err != nil {
		return nil, translate("list users", err)
	}
	list, err := list(ctx, s, l, f.PageRequest, entityColumns, scanUser)
	if err == nil {
		err = userdata.LoadUserExpansions(ctx, list.Items, f.Expand, s.userMembers)
	}
	if err != nil {
		return nil, translate("list users", err)
	}
	return list, nil
}

// CountUsers counts the environment's users that f selects; errors as
// ListUsers, but for the cursor's.
func (s *Store) CountUsers(ctx context.Context, tn userdata.Tenant, f userdata.UserFilter) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l, err := s.usersListing(ctx, tn, f, nil)
	if err != nil {
		return 0, translate("count users", err)
	}
	n, err := count(ctx, s, l)
	return n, translate("count users", err)
}

// usersListing is the listing of the environment's users that f selects,
// to be read in order o (nil for a count).
func (s *Store) usersListing(ctx context.Context, tn userdata.Tenant, f userdata.UserFilter, o *order) (*listing, error) {
	if f.RequireCompany && f.CompanyID != "" {
		if _, err := companiesTable.get(ctx, s, tn.EnvironmentID, f.CompanyID); err != nil {
			return nil, err
		}
	}
	l := newListing("users", "environment_id", tn.EnvironmentID)
	if f.Email != "" {
		l.whereEmail(f.Email)
	}
	if f.CompanyID != "" {
		l.whereMemberOf(f.CompanyID)
	}
	l.whereCreated(f.CreatedAfter, f.CreatedBefore)
	return l, s.whereAudience(ctx, l, tn, &f.Audience, userdata.ScopeUser, o)
}

func scanUser(r pgx.Row) (*userdata.User, string, error) {
	e, err := scanEntity(r)
	if err != nil {
		return nil, "", err
	}
	return e.user(), e.id, nil
}

// whereEmail keeps users whose email attribute is the string email. The
// users_email index holds a prefix of the value (see 0003_user_email.sql).
func (l *listing) whereEmail(email string) {
	if !storable(email) {
		l.where("false") // no stored string equals it
		return
	}
	p := l.arg(email)
	l.where("email IS NOT NULL AND left(email, 256) = left(" + p + ", 256) AND email = " + p)
}

// whereMemberOf keeps users who are members of the company with the given
// external id.
func (l *listing) whereMemberOf(companyID string) {
	if !storable(companyID) {
		l.where("false")
		return
	}
	l.where(`id IN (SELECT m.user_id FROM memberships m JOIN companies c ON c.id = m.company_id
		WHERE c.environment_id = $1 AND c.external_id = ` + l.arg(companyID) + `)`)
}
