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
	list, err := list(ctx, s.r, companiesListing(tn, f), f.PageRequest, entityColumns, scanCompany)
	if err != nil {
		return nil, s.fault(err)
	}
	return list, userdata.LoadCompanyExpansions(ctx, list.Items, f.Expand, s.companyMembers)
}

// companiesListing is the listing of the environment's companies that f
// selects.
func companiesListing(tn userdata.Tenant, f userdata.CompanyFilter) *listing {
	l := &listing{table: "companies", scopeCol: "environment_id", scope: tn.EnvironmentID}
	l.whereCreated(f.CreatedAfter, f.CreatedBefore)
	return l
}

func scanCompany(r scanner) (*userdata.Company, string, error) {
	e, err := scanEntity(r)
	if err != nil {
		return nil, "", err
	}
	return e.company(), e.id, nil
}
