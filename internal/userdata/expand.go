package userdata

// AttachToUsers hands out memberships, each read with its Company, to the
// users they belong to, as the expansions x ask (§6.1). Every user gets
// non-nil (possibly empty) slices for what was expanded.
func AttachToUsers(users []*User, ms []*Membership, x Expand) {
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

// AttachToCompanies does for companies what AttachToUsers does for users,
// with memberships read with their User (§6.2).
func AttachToCompanies(companies []*Company, ms []*Membership, x Expand) {
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
