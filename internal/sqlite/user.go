package sqlite

import (
	"context"

	"tourd/internal/userdata"
)

// UpsertUser creates or updates a user with its companies and memberships
// in one transaction (§9.1).
func (s *Store) UpsertUser(ctx context.Context, tn userdata.Tenant, in *userdata.UserUpsert) (*userdata.User, bool, error) {
	var u *userdata.User
	var created bool
	pre := s.premerge(usersTable, tn.EnvironmentID, in.ExternalID, in.Attributes)
	err := s.write(ctx, func(w *wtx) (err error) {
		u, created, err = w.upsertUser(tn, in, pre)
		return err
	})
	return u, created, err
}

// upsertUser is the write of UpsertUser.
func (w *wtx) upsertUser(tn userdata.Tenant, in *userdata.UserUpsert, pre *premerge) (*userdata.User, bool, error) {
	e, created, err := usersTable.upsert(w, tn, in.ExternalID, in.Attributes, pre)
	if err != nil {
		return nil, false, err
	}
	for _, co := range in.Companies {
		if err := w.joinCompany(tn, e.id, co, nil); err != nil {
			return nil, false, err
		}
	}
	for _, m := range in.Memberships {
		if err := w.joinCompany(tn, e.id, m.Company, m.Attributes); err != nil {
			return nil, false, err
		}
	}
	return e.user(), created, nil
}

// ImportUsers applies the upserts in order, each as UpsertUser would, with
// all of them queued at once so that they share commits.
func (s *Store) ImportUsers(ctx context.Context, tn userdata.Tenant, ins []*userdata.UserUpsert) []userdata.ImportResult {
	return importAll(ctx, s, ins, func(w *wtx, in *userdata.UserUpsert) (bool, error) {
		_, created, err := w.upsertUser(tn, in, nil)
		return created, err
	})
}

// importAll queues one write per item, in order, then waits for them all.
func importAll[T any](ctx context.Context, s *Store, items []T, apply func(*wtx, T) (bool, error)) []userdata.ImportResult {
	res := make([]userdata.ImportResult, len(items))
	waits := make([]func() error, len(items))
	for i, it := range items {
		waits[i] = s.submit(ctx, func(w *wtx) (err error) {
			res[i].Created, err = apply(w, it)
			return err
		})
	}
	for i, wait := range waits {
		res[i].Err = wait()
	}
	s.kickStats()
	return res
}

// GetUser returns a user by external id, with the asked-for expansions.
func (s *Store) GetUser(ctx context.Context, tn userdata.Tenant, externalID string, x userdata.Expand) (*userdata.User, error) {
	e, err := s.readEntity(ctx, usersTable, tn.EnvironmentID, externalID)
	if err != nil {
		return nil, err
	}
	users := []*userdata.User{e.user()}
	if err := userdata.LoadUserExpansions(ctx, users, x, s.userMembers); err != nil {
		return nil, err
	}
	return users[0], nil
}

// DeleteUser deletes a user and its memberships.
func (s *Store) DeleteUser(ctx context.Context, tn userdata.Tenant, externalID string) error {
	return s.write(ctx, func(w *wtx) error { return usersTable.remove(w, tn.EnvironmentID, externalID) })
}

// ListUsers returns a page of the environment's users.
func (s *Store) ListUsers(ctx context.Context, tn userdata.Tenant, f userdata.UserFilter) (*userdata.List[*userdata.User], error) {
	o := newOrder(f.PageRequest)
	l, err := s.usersListing(ctx, tn, f, &o)
	if err != nil {
		return nil, s.fault(err)
	}
	list, err := list(ctx, l.querier(s.r, s.rdb), l, f.PageRequest, entityColumns, scanUser)
	if err != nil {
		return nil, s.fault(err)
	}
	return list, userdata.LoadUserExpansions(ctx, list.Items, f.Expand, s.userMembers)
}

// CountUsers counts the environment's users that f selects.
func (s *Store) CountUsers(ctx context.Context, tn userdata.Tenant, f userdata.UserFilter) (int64, error) {
	l, err := s.usersListing(ctx, tn, f, nil)
	if err != nil {
		return 0, s.fault(err)
	}
	n, err := count(ctx, l.querier(s.r, s.rdb), l)
	return n, s.fault(err)
}

// usersListing is the listing of the environment's users that f selects,
// to be read in order o (nil for a count). It returns CodeNotFound for
// ResourceCompany when f.RequireCompany is set and f.CompanyID names no
// company, and the errors of whereAudience.
func (s *Store) usersListing(ctx context.Context, tn userdata.Tenant, f userdata.UserFilter, o *order) (*listing, error) {
	if f.RequireCompany && f.CompanyID != "" {
		if _, err := s.readEntity(ctx, companiesTable, tn.EnvironmentID, f.CompanyID); err != nil {
			return nil, err
		}
	}
	l := &listing{table: "users", base: "users", scopeCol: "environment_id", scope: tn.EnvironmentID}
	if f.Email != "" {
		l.where("email = ?", f.Email)
	}
	if f.CompanyID != "" {
		l.where(`id IN (SELECT m.user_id FROM memberships m JOIN companies c ON c.id = m.company_id
			WHERE c.environment_id = ? AND c.external_id = ?)`, tn.EnvironmentID, f.CompanyID)
	}
	l.whereCreated(f.CreatedAfter, f.CreatedBefore)
	return l, s.whereAudience(ctx, l, tn, &f.Audience, userdata.ScopeUser, o)
}

func scanUser(r scanner) (*userdata.User, string, error) {
	e, err := scanEntity(r)
	if err != nil {
		return nil, "", err
	}
	return e.user(), e.id, nil
}
