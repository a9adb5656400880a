package wire

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"tourd/internal/userdata"
)

// pair is one decoded key=value of a query string, in request order.
type pair struct{ key, value string }

// Query is a request's query string parsed "qs-style" (v1 §4): it keeps
// order and duplicates, and knows the list forms name[] and name[N].
type Query []pair

// ParseQuery parses a raw query string. Invalid URL encoding is a
// validation error.
func ParseQuery(raw string) (Query, error) {
	var q Query
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, userdata.Errorf(userdata.CodeInvalid, "query string is not valid URL encoding")
		}
		q = append(q, pair{key, value})
	}
	return q, nil
}

// baseName returns the parameter a key belongs to and whether it is in a
// list form (name[] or name[...]).
func baseName(key string) (string, bool) {
	if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
		return key[:i], true
	}
	return key, false
}

// Single returns a single-valued parameter. Repeating it, or sending it in
// a list form, is a validation error.
func (q Query) Single(name string) (value string, present bool, err error) {
	for _, p := range q {
		base, list := baseName(p.key)
		if base != name {
			continue
		}
		if list || present {
			return "", false, userdata.Errorf(userdata.CodeInvalid, "%s must be a single string value", name)
		}
		value, present = p.value, true
	}
	return value, present, nil
}

// List returns every value of a list-valued parameter in order, from all
// its forms; with splitCommas each value is also split on commas. An empty
// element is a validation error.
func (q Query) List(name string, splitCommas bool) ([]string, error) {
	var out []string
	for _, p := range q {
		if base, _ := baseName(p.key); base != name {
			continue
		}
		values := []string{p.value}
		if splitCommas {
			values = strings.Split(p.value, ",")
		}
		for _, v := range values {
			if v == "" {
				return nil, userdata.Errorf(userdata.CodeInvalid, "each value in %s must not be empty", name)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// Limit reads the limit parameter: a plain decimal integer in 1..100.
func (q Query) Limit() (int, error) {
	return q.Int("limit", userdata.DefaultLimit, 1, userdata.MaxLimit)
}

// Int reads an integer parameter: plain decimal digits, in min..max; def
// when absent.
func (q Query) Int(name string, def, min, max int) (int, error) {
	v, present, err := q.Single(name)
	if err != nil || !present {
		return def, err
	}
	digits := strings.TrimPrefix(v, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, userdata.Errorf(userdata.CodeInvalid, "%s must be an integer number", name)
	}
	n, err := strconv.Atoi(v)
	switch {
	case v[0] == '-' && n != 0 || n < min:
		return 0, userdata.Errorf(userdata.CodeInvalid, "%s must not be less than %d", name, min)
	case err != nil || n > max:
		return 0, userdata.Errorf(userdata.CodeInvalid, "%s must not be greater than %d", name, max)
	}
	return n, nil
}

// enumList reads a list parameter whose values must all be in allowed (a
// map from the wire value), splitting on commas (v1 §4, DEVIATION D2).
func enumList[T any](q Query, name string, allowed map[string]T, names string) ([]T, error) {
	values, err := q.List(name, true)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(values))
	for _, v := range values {
		t, ok := allowed[v]
		if !ok {
			return nil, userdata.Errorf(userdata.CodeInvalid, "each value in %s must be one of the following values: %s", name, names)
		}
		out = append(out, t)
	}
	return out, nil
}

// The values orderBy and expand allow, by their wire spelling.
var (
	// CreatedAtOrder is orderBy of users, companies and events.
	CreatedAtOrder = map[string]userdata.Sort{
		"createdAt":  {Field: userdata.SortCreatedAt},
		"-createdAt": {Field: userdata.SortCreatedAt, Desc: true},
	}
	// DefinitionOrder is orderBy of attribute and event definitions.
	DefinitionOrder = map[string]userdata.Sort{
		"createdAt":    {Field: userdata.SortCreatedAt},
		"-createdAt":   {Field: userdata.SortCreatedAt, Desc: true},
		"codeName":     {Field: userdata.SortCodeName},
		"-codeName":    {Field: userdata.SortCodeName, Desc: true},
		"displayName":  {Field: userdata.SortDisplayName},
		"-displayName": {Field: userdata.SortDisplayName, Desc: true},
	}
	// UserExpand is expand of users.
	UserExpand = map[string]userdata.Expand{
		"companies":           userdata.ExpandCompanies,
		"memberships":         userdata.ExpandMemberships,
		"memberships.company": userdata.ExpandMemberships | userdata.ExpandMembershipCompany,
	}
	// CompanyExpand is expand of companies.
	CompanyExpand = map[string]userdata.Expand{
		"users":            userdata.ExpandUsers,
		"memberships":      userdata.ExpandMemberships,
		"memberships.user": userdata.ExpandMemberships | userdata.ExpandMembershipUser,
	}
)

// The values above, listed for messages in the contract's order.
const (
	CreatedAtOrderNames  = "createdAt, -createdAt"
	DefinitionOrderNames = "createdAt, -createdAt, codeName, -codeName, displayName, -displayName"
	UserExpandNames      = "companies, memberships, memberships.company"
	CompanyExpandNames   = "users, memberships, memberships.user"
)

// Expand reads the expand parameter against the allowed values.
func (q Query) Expand(allowed map[string]userdata.Expand, names string) (userdata.Expand, error) {
	xs, err := enumList(q, "expand", allowed, names)
	var x userdata.Expand
	for _, e := range xs {
		x |= e
	}
	return x, err
}

// Page reads limit, cursor and orderBy; def is the default sort.
func (q Query) Page(allowed map[string]userdata.Sort, names string, def userdata.Sort) (userdata.PageRequest, error) {
	var p userdata.PageRequest
	var err error
	if p.Limit, err = q.Limit(); err != nil {
		return p, err
	}
	if p.Cursor, _, err = q.Single("cursor"); err != nil {
		return p, err
	}
	if p.Sort, err = enumList(q, "orderBy", allowed, names); err != nil {
		return p, err
	}
	if p.Sort = userdata.UniqueSorts(p.Sort); len(p.Sort) == 0 {
		p.Sort = []userdata.Sort{def}
	}
	return p, nil
}

// PathID reads the path value name of r, an id that must obey the id
// length limit (v1 §15.1).
func PathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if len(id) > userdata.MaxIDBytes {
		return "", userdata.Errorf(userdata.CodeInvalid, "%s must be at most %d bytes", name, userdata.MaxIDBytes)
	}
	return id, nil
}

// Email reads the email filter of a user list: an address, or "" when
// absent.
func (q Query) Email() (string, error) {
	email, present, err := q.Single("email")
	if err == nil && present && !IsEmail(email) {
		err = userdata.Errorf(userdata.CodeInvalid, "email must be an email")
	}
	return email, err
}
