package httpapi

import (
	"fmt"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// decodeCompany decodes a company upsert from o, naming fields under
// prefix.
func decodeCompany(o wire.Object, prefix string) (userdata.CompanyUpsert, error) {
	var c userdata.CompanyUpsert
	var err error
	if c.ExternalID, err = o.ID(prefix+"id", "id"); err != nil {
		return c, err
	}
	c.Attributes, err = o.Attributes(prefix+"attributes", "attributes", false)
	return c, err
}

// decodeUserUpsert decodes and validates the body of POST /v1/users.
func decodeUserUpsert(body []byte) (*userdata.UserUpsert, error) {
	o, err := wire.DecodeObject(body, "")
	if err != nil {
		return nil, err
	}
	u := &userdata.UserUpsert{}
	if u.ExternalID, err = o.ID("id", "id"); err != nil {
		return nil, err
	}
	if u.Attributes, err = o.Attributes("attributes", "attributes", false); err != nil {
		return nil, err
	}
	companies, err := o.Array("companies")
	if err != nil {
		return nil, err
	}
	memberships, err := o.Array("memberships")
	if err != nil {
		return nil, err
	}
	if companies != nil && memberships != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "Only one of companies or memberships can be set")
	}
	if companies != nil {
		u.Companies = make([]userdata.CompanyUpsert, len(companies))
	}
	for i, c := range companies {
		if u.Companies[i], err = decodeCompany(c, fmt.Sprintf("companies.%d.", i)); err != nil {
			return nil, err
		}
	}
	if memberships != nil {
		u.Memberships = make([]userdata.MembershipUpsert, len(memberships))
	}
	for i, m := range memberships {
		prefix := fmt.Sprintf("memberships.%d.", i)
		co, err := wire.DecodeObject(m["company"], prefix+"company")
		if err != nil {
			return nil, err
		}
		if u.Memberships[i].Company, err = decodeCompany(co, prefix+"company."); err != nil {
			return nil, err
		}
		if u.Memberships[i].Attributes, err = m.Attributes(prefix+"attributes", "attributes", false); err != nil {
			return nil, err
		}
	}
	return u, u.Validate()
}

// decodeCompanyUpsert decodes and validates the body of POST /v1/companies.
func decodeCompanyUpsert(body []byte) (*userdata.CompanyUpsert, error) {
	o, err := wire.DecodeObject(body, "")
	if err != nil {
		return nil, err
	}
	c, err := decodeCompany(o, "")
	if err != nil {
		return nil, err
	}
	return &c, c.Validate()
}
