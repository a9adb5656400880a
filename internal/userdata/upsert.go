package userdata

import (
	"fmt"
	"strings"
)

// Limits that protect the service (§15.1).
const (
	MaxIDBytes       = 1024
	MaxCodeNameBytes = 255
)

// UserUpsert is the body of POST /v1/users, decoded.
type UserUpsert struct {
	ExternalID string
	Attributes Attributes
	// Companies and Memberships are nil when absent or null; an empty,
	// non-nil slice counts as set (§9.3).
	Companies   []CompanyUpsert
	Memberships []MembershipUpsert
}

// CompanyUpsert is the body of POST /v1/companies, or one item of a user
// upsert's companies.
type CompanyUpsert struct {
	ExternalID string
	Attributes Attributes
}

// MembershipUpsert is one item of a user upsert's memberships.
type MembershipUpsert struct {
	Company    CompanyUpsert
	Attributes Attributes
}

// Validate checks the rules of §7.3, §9.3 and §15.1 that decoding does not
// already enforce. It returns a CodeInvalid error naming the first
// violation.
func (u *UserUpsert) Validate() error {
	if err := ValidateID("id", u.ExternalID); err != nil {
		return err
	}
	if u.Companies != nil && u.Memberships != nil {
		return Errorf(CodeInvalid, "Only one of companies or memberships can be set")
	}
	if err := ValidateAttributeKeys("attributes", u.Attributes); err != nil {
		return err
	}
	for i := range u.Companies {
		if err := u.Companies[i].validate(fmt.Sprintf("companies.%d.", i)); err != nil {
			return err
		}
	}
	for i, m := range u.Memberships {
		prefix := fmt.Sprintf("memberships.%d.", i)
		if err := m.Company.validate(prefix + "company."); err != nil {
			return err
		}
		if err := ValidateAttributeKeys(prefix+"attributes", m.Attributes); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a company upsert's id and attribute keys.
func (c *CompanyUpsert) Validate() error { return c.validate("") }

func (c *CompanyUpsert) validate(prefix string) error {
	if err := ValidateID(prefix+"id", c.ExternalID); err != nil {
		return err
	}
	return ValidateAttributeKeys(prefix+"attributes", c.Attributes)
}

// ValidateID checks an external id: at least one non-whitespace character
// and at most MaxIDBytes bytes. field names it in the message.
func ValidateID(field, id string) error {
	if strings.TrimFunc(id, isSpace) == "" {
		return Errorf(CodeInvalid, "%s must be a non-empty string", field)
	}
	if len(id) > MaxIDBytes {
		return Errorf(CodeInvalid, "%s must be at most %d bytes", field, MaxIDBytes)
	}
	return nil
}

// isSpace matches what JavaScript's String.prototype.trim removes.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// ValidateAttributeKeys checks that every key is a non-empty codeName of at
// most MaxCodeNameBytes bytes.
func ValidateAttributeKeys(field string, a Attributes) error {
	for k := range a {
		if k == "" {
			return Errorf(CodeInvalid, "%s keys must be non-empty", field)
		}
		if len(k) > MaxCodeNameBytes {
			return Errorf(CodeInvalid, "%s key %.40q… must be at most %d bytes", field, k, MaxCodeNameBytes)
		}
	}
	return nil
}
