package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// UpsertCompany creates or updates a company (§7.7) in one transaction.
func (s *Store) UpsertCompany(ctx context.Context, tn userdata.Tenant, in *userdata.CompanyUpsert) (*userdata.Company, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var e *entity
	var created bool
	err := s.write(ctx, "upsert company", tn, func(w *write) error {
		return w.upsertCompany(in, func(r *entity, c bool) { e, created = r, c })
	})
	if err != nil {
		return nil, false, translate("upsert company", err)
	}
	return e.company(), created, nil
}

// upsertCompany queues the upsert of one company; done receives it.
func (w *write) upsertCompany(in *userdata.CompanyUpsert, done func(*entity, bool)) error {
	w.need(userdata.ScopeCompany, in.Attributes)
	return companiesTable.upsert(w, userdata.NewID(), in.ExternalID, in.Attributes, done)
}

// ImportCompanies applies the upserts in order, as UpsertCompany would,
// many to a transaction and a round trip.
func (s *Store) ImportCompanies(ctx context.Context, tn userdata.Tenant, ins []*userdata.CompanyUpsert) []userdata.ImportResult {
	return importAll(ctx, s, tn, ins, (*write).upsertCompany,
		func(in *userdata.CompanyUpsert) (bool, error) {
			_, created, err := s.UpsertCompany(ctx, tn, in)
			return created, err
		})
}

// GetCompany returns a company by external id, with the asked-for
// expansions. It returns CodeNotFound for ResourceCompany when there is no
// such company.
func (s *Store) GetCompany(ctx context.Context, tn userdata.Tenant, externalID string, x userdata.Expand) (*userdata.Company, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	e, err := companiesTable.get(ctx, s, tn.EnvironmentID, externalID)
	if err != nil {
		return nil, translate("get company", err)
	}
	companies := []*userdata.Company{e.company()}
	if err := userdata.LoadCompanyExpansions(ctx, companies, x, s.companyMembers); err != nil {
		return nil, translate("get company", err)
	}
	return companies[0], nil
}

// DeleteCompany deletes a company and its memberships. It returns
// CodeNotFound for ResourceCompany when there is no such company.
func (s *Store) DeleteCompany(ctx context.Context, tn userdata.Tenant, externalID string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return translate("delete company", companiesTable.remove(ctx, s, tn.EnvironmentID, externalID))
}

// ListCompanies returns a page of the environment's companies; errors as
// ListUsers.
func (s *Store) ListCompanies(ctx context.Context, tn userdata.Tenant, f userdata.CompanyFilter) (*userdata.List[*userdata.Company], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	o := newOrder(f.PageRequest)
	l := newListing("companies", "environment_id", tn.EnvironmentID)
	l.whereCreated(f.CreatedAfter, f.CreatedBefore)
	if err := s.whereAudience(ctx, l, tn, &f.Audience, userdata.ScopeCompany, &o); err != nil {
		return nil, translate("list companies", err)
	}
	list, err := list(ctx, s, l, f.PageRequest, entityColumns, scanCompany)
	if err == nil {
		err = userdata.LoadCompanyExpansions(ctx, list.Items, f.Expand, s.companyMembers)
	}
	if err != nil {
		return nil, translate("list companies", err)
	}
	return list, nil
}

// CountCompanies counts the environment's companies that f selects;
// errors as ListCompanies, but for the cursor's.
func (s *Store) CountCompanies(ctx context.Context, tn userdata.Tenant, f userdata.CompanyFilter) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("companies", "environment_id", tn.EnvironmentID)
	l.whereCreated(f.CreatedAfter, f.CreatedBefore)
	if err := s.whereAudience(ctx, l, tn, &f.Audience, userdata.ScopeCompany, nil); err != nil {
		return 0, translate("count companies", err)
	}
	n, err := count(ctx, s, l)
	return n, translate("count companies", err)
}

func scanCompany(r pgx.Row) (*userdata.Company, string, error) {
	e, err := scanEntity(r)
	if err != nil {
		return nil, "", err
	}
	return e.company(), e.id, nil
}
