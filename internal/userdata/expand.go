package userdata

import "context"

// MembersFunc reads the memberships of the given owners (internal user or
// company ids), oldest first: for users each with its Company, for
// companies each with its User.
type MembersFunc func(ctx context.Context, ownerIDs []string) ([]*Membership, error)

// LoadUserExpansions reads, with members, what the expansions x ask for, and
// attaches it to users (§6.1). It does nothing when x asks for nothing.
func LoadUserExpansions(ctx context.Context, users []*User, x Expand, members MembersFunc) error {
	if !x.UserExpansions() {
		return nil
	}
	return expand(ctx, users, func(u *User) string { return u.ID }, members, func(ms []*Membership) {
		attachToUsers(users, ms, x)
	})
}

// LoadCompanyExpansions does for companies what LoadUserExpansions does for
// users (§6.2).
func LoadCompanyExpansions(ctx context.Context, companies []*Company, x Expand, members MembersFunc) error {
	if !x.CompanyExpansions() {
		return nil
	}
	return expand(ctx, companies, func(c *Company) string { return c.ID }, members, func(ms []*Membership) {
		attachToCompanies(companies, ms, x)
	})
}

func expand[T any](ctx context.Context, owners []T, id func(T) string, members MembersFunc, attach func([]*Membership)) error {
	ids := make([]string, len(owners))
	for i, o := range owners {
		ids[i] = id(o)
	}
	ms, err := members(ctx, ids)
	if err == nil {
		attach(ms)
	}
	return err
}

// attachToUsers hands out memberships, each read with its Company, to the
// users they belong to, as the expansions x ask (§6.1). Every user gets
// non-nil (possibly empty) slices for what was expanded.
func attachToUsers(users []*User, ms []*Membership, x Expand) {
	byID := make(map[string]*User, len(users))
	for _, u := range users {
		byID[u.ID] = u
		if x.Has(ExpandCompanies) {
			u.Companies = []*Company{}
		}
		if x.Has(ExpandMemberships) {
			u.Memberships = []*Membership{}
		}
	}
	for _, m := range ms {
		u := byID[m.UserID]
		if x.Has(ExpandCompanies) {
			u.Companies = append(u.Companies, m.Company)
		}
		if x.Has(ExpandMemberships) {
			u.Memberships = append(u.Memberships, m.only(x.Has(ExpandMembershipCompany), false))
		}
	}
}

// attachToCompanies does for companies what attachToUsers does for users,
// with memberships read with their User (§6.2).
func attachToCompanies(companies []*Company, ms []*Membership, x Expand) {
	byID := make(map[string]*Company, len(companies))
	for _, c := range companies {
		byID[c.ID] = c
		if x.Has(ExpandUsers) {
			c.Users = []*User{}
		}
		if x.Has(ExpandMemberships) {
			c.Memberships = []*Membership{}
		}
	}
	for _, m := range ms {
		c := byID[m.CompanyID]
		if x.Has(ExpandUsers) {
			c.Users = append(c.Users, m.User)
		}
		if x.Has(ExpandMemberships) {
			c.Memberships = append(c.Memberships, m.only(false, x.Has(ExpandMembershipUser)))
		}
	}
}

// only returns a copy of m that keeps its Company and User only as asked.
func (m *Membership) only(company, user bool) *Membership {
	c := *m
	if !company {
		c.Company = nil
	}
	if !user {
		c.User = nil
	}
	return &c
}

// UserExpansions reports whether x asks for anything read from memberships
// on a user; CompanyExpansions does the same for a company.
func (x Expand) UserExpansions() bool    { return x&(ExpandCompanies|ExpandMemberships) != 0 }
func (x Expand) CompanyExpansions() bool { return x&(ExpandUsers|ExpandMemberships) != 0 }
