package sqlite

import (
	"context"

	"tourd/internal/userdata"
)

// UpsertCompany creates or updates a company (§7.7).
func (s *Store) UpsertCompany(ctx context.Context, tn userdata.Tenant, in *userdata.CompanyUpsert) (*userdata.Company, bool, error) {
	var c *userdata.Company
	var created bool
	pre := s.premerge(companiesTable, tn.EnvironmentID, in.ExternalID, in.Attributes)
	err := s.write(ctx, func(w *wtx) error {
		e, cr, err := companiesTable.upsert(w, tn, in.ExternalID, in.Attributes, pre)
		if err == nil {
			c, created = e.company(), cr
		}
		return err
	})
	return c, created, err
}

// ImportCompanies applies the upserts in order, each as UpsertCompany
// would, queued at once like ImportUsers.
func (s *Store) ImportCompanies(ctx context.Context, tn userdata.Tenant, ins []*userdata.CompanyUpsert) []userdata.ImportResult {
	return importAll(ctx, s, ins, func(w *wtx, in *userdata.CompanyUpsert) (bool, error) {
		_, created, err := companiesTable.upsert(w, tn, in.ExternalID, in.Attributes, nil)
		return created, err
	})
}

// GetCompany returns a company by external id, with the asked-for
// expansions.
func (s *Store) GetCompany(ctx context.Context, tn userdata.Tenant, externalID string, x userdata.Expand) (*userdata.Company, error) {
	e, err := s.readEntity(ctx, companiesTable, tn.EnvironmentID, externalID)
	if err != nil {
		return nil, err
	}
	companies := []*userdata.Company{e.company()}
	if err := userdata.LoadCompanyExpansions(ctx, companies, x, s.companyMembers); err != nil {
		return nil, err
	}
	return companies[0], nil
}

// DeleteCompany deletes a company and its memberships.
func (s *Store) DeleteCompany(ctx context.Context, tn userdata.Tenant, externalID string) error {
	return s.write(ctx, func(w *wtx) error { return companiesTable.remove(w, tn.EnvironmentID, externalID) })
}

// ListCompanies returns a page of the environment's companies.
func (s *Store) ListCompanies(ctx context.Context, tn userdata.Tenant, f userdata.CompanyFilter) (*userdata.List[*userdata.Company], error) {
	o := newOrder(f.PageRequest)
	l, err := s.companiesListing(ctx, tn, f, &o)
	if err != nil {
		return nil, s.fault(err)
	}
	list, err := list(ctx, l.querier(s.r, s.rdb), l, f.PageRequest, entityColumns, scanCompany)
	if err != nil {
		return nil, s.fault(err)
	}
	return list, userdata.LoadCompanyExpansions(ctx, list.Items, f.Expand, s.companyMembers)
}

// CountCompanies counts the environment's companies that f selects.
func (s *Store) CountCompanies(ctx context.Context, tn userdata.Tenant, f userdata.CompanyFilter) (int64, error) {
	l, err := s.companiesListing(ctx, tn, f, nil)
	if err != nil {
		return 0, s.fault(err)
	}
	n, err := count(ctx, l.querier(s.r, s.rdb), l)
	return n, s.fault(err)
}

// companiesListing is the listing of the environment's companies that f
// selects, to be read in order o (nil for a count); errors as
// whereAudience.
func (s *Store) companiesListing(ctx context.Context, tn userdata.Tenant, f userdata.CompanyFilter, o *order) (*listing, error) {
	l := &listing{table: "companies", base: "companies", scopeCol: "environment_id", scope: tn.EnvironmentID}
	l.whereCreated(f.CreatedAfter, f.CreatedBefore)
	return l, s.whereAudience(ctx, l, tn, &f.Audience, userdata.ScopeCompany, o)
}

func scanCompany(r scanner) (*userdata.Company, string, error) {
	e, err := scanEntity(r)
	if err != nil {
		return nil, "", err
	}
	return e.company(), e.id, nil
}
