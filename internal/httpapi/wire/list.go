package wire

import (
	"net/http"
	"strconv"
	"strings"

	"tourd/internal/userdata"
)

// List is the list object of v1 §5.1.
type List struct {
	Results  any     `json:"results"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
}

// NewList builds the list object for a page whose items are already in
// wire form, with links per v1 §5.3 and §5.4; expandable says whether the
// endpoint takes expand.
func NewList[T any](r *http.Request, q Query, items any, l *userdata.List[T], limit int, expandable bool) List {
	return newList(items, l, func(cursor string) *string { return link(r, q, cursor, limit, expandable) })
}

// newList builds the list object of a page, its links made by link from a
// cursor ("" for the first page).
func newList[T any](items any, l *userdata.List[T], link func(cursor string) *string) List {
	out := List{Results: items}
	if l.NextCursor != "" {
		out.Next = link(l.NextCursor)
	}
	switch l.Prev {
	case userdata.PrevFirstPage:
		out.Previous = link("")
	case userdata.PrevCursor:
		out.Previous = link(l.PrevCursor)
	}
	return out
}

// NewPage is NewList for v2 (v2.md §6): its links keep every parameter of
// the request but cursor and limit, as sent, then set cursor and limit.
func NewPage[T any](r *http.Request, q Query, items any, l *userdata.List[T], limit int) List {
	return newList(items, l, func(cursor string) *string { return pageLink(r, q, cursor, limit) })
}

// EmptyPage is v2's answer to a cursor that selects nothing.
func EmptyPage() List { return List{Results: []struct{}{}} }

// pageLink renders a v2 link (see NewPage).
func pageLink(r *http.Request, q Query, cursor string, limit int) *string {
	pairs := make([]pair, 0, len(q)+2)
	for _, p := range q {
		if base, _ := baseName(p.key); base != "cursor" && base != "limit" {
			pairs = append(pairs, p)
		}
	}
	if cursor != "" {
		pairs = append(pairs, pair{"cursor", cursor})
	}
	return renderLink(r, append(pairs, pair{"limit", strconv.Itoa(limit)}))
}

// link renders a relative link to the same listing with another cursor
// ("" for the first page), following v1 §5.4.
func link(r *http.Request, q Query, cursor string, limit int, expandable bool) *string {
	pairs := make([]pair, 0, len(q)+2)
	for _, p := range q {
		if base, _ := baseName(p.key); base != "cursor" {
			pairs = append(pairs, p)
		}
	}
	if cursor != "" {
		pairs = append(pairs, pair{"cursor", cursor})
	}
	pairs = setLimit(pairs, limit)
	if expandable {
		pairs = normalizeExpand(pairs)
	}
	return renderLink(r, pairs)
}

// renderLink renders the request's path with pairs as its query.
func renderLink(r *http.Request, pairs []pair) *string {
	var b strings.Builder
	b.WriteString(r.URL.EscapedPath())
	for i, p := range pairs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		formEncode(&b, p.key)
		b.WriteByte('=')
		formEncode(&b, p.value)
	}
	s := b.String()
	return &s
}

// setLimit replaces the first limit pair in place, dropping the others, or
// appends one.
func setLimit(pairs []pair, limit int) []pair {
	out := pairs[:0:0]
	set := false
	for _, p := range pairs {
		if base, _ := baseName(p.key); base == "limit" {
			if !set {
				out = append(out, pair{"limit", strconv.Itoa(limit)})
				set = true
			}
			continue
		}
		out = append(out, p)
	}
	if !set {
		out = append(out, pair{"limit", strconv.Itoa(limit)})
	}
	return out
}

// normalizeExpand keeps a lone plain expand=v pair; any other form is
// rewritten as expand[]=v pairs at the end, one per value.
func normalizeExpand(pairs []pair) []pair {
	var values []string
	plain, n := false, 0
	out := pairs[:0:0]
	for _, p := range pairs {
		base, list := baseName(p.key)
		if base != "expand" {
			out = append(out, p)
			continue
		}
		n++
		plain = !list
		values = append(values, strings.Split(p.value, ",")...)
	}
	if n == 0 || (n == 1 && plain) {
		return pairs
	}
	for _, v := range values {
		out = append(out, pair{"expand[]", v})
	}
	return out
}

// formEncode writes s form-urlencoded: ALPHA, DIGIT and *-._ literal, space
// as +, everything else percent-encoded.
func formEncode(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

// MapItems converts a page's items to wire form, with NewUser and the like.
func MapItems[T, W any](items []T, f func(T) W) []W {
	out := make([]W, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}
