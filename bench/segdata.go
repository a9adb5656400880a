package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The data of the segment benchmark (go run ./bench -segments): users,
// companies and segments whose attributes make every segment's members
// known exactly, so that the bench can check each answer.
//
// User i (1..users) has the attributes name, email, plan and bucket =
// i mod 10000, and one membership, in company i mod companies. Company j
// (0..companies-1) has name and tier = j mod 100. companies is users/10
// (at least 1).

const (
	segBuckets = 10000 // user attribute bucket = i mod segBuckets
	segTiers   = 100   // company attribute tier = j mod segTiers
)

// segPlans are the values of the user attribute plan, by i mod 3.
var segPlans = [...]string{"free", "pro", "enterprise"}

// segPlan is the shape of one segment bench's data set.
type segPlan struct {
	users     int // seeded users, 1..users
	companies int // seeded companies, 0..companies-1
	manual    int // members of the manual segment
}

// newSegPlan returns the plan of users users and a manual segment of up to
// manual members (never more than the users).
func newSegPlan(users, manual int) segPlan {
	return segPlan{users: users, companies: max(1, users/10), manual: min(manual, users)}
}

// segUserID and segCompanyID are the external ids of seeded user i and
// company j.
func segUserID(i int) string    { return "seg-user-" + strconv.Itoa(i) }
func segCompanyID(j int) string { return "seg-company-" + strconv.Itoa(j) }

// segUserIndex returns i of the external id segUserID(i).
func segUserIndex(id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, "seg-user-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 1 || segUserID(i) != id {
		return 0, false
	}
	return i, true
}

func segBucket(i int) int             { return i % segBuckets }
func segTier(j int) int               { return j % segTiers }
func (p segPlan) companyOf(i int) int { return i % p.companies }

// userLine appends to dst the NDJSON line (a POST /v1/users body) that
// seeds user i with its membership.
func (p segPlan) userLine(dst []byte, i int) []byte {
	return fmt.Appendf(dst, `{"id":"seg-user-%d","attributes":{"name":"User %d","email":"user%d@example.com","plan":"%s","bucket":%d},"companies":[{"id":"seg-company-%d"}]}`+"\n",
		i, i, i, segPlans[i%len(segPlans)], segBucket(i), p.companyOf(i))
}

// companyLine appends to dst the NDJSON line (a POST /v1/companies body)
// that seeds company j.
func (p segPlan) companyLine(dst []byte, j int) []byte {
	return fmt.Appendf(dst, `{"id":"seg-company-%d","attributes":{"name":"Company %d","tier":%d}}`+"\n", j, j, segTier(j))
}

// manualStride spreads the manual segment's members over the whole list:
// they are users 1, 1+stride, 1+2*stride, ….
func (p segPlan) manualStride() int { return max(1, p.users/max(1, p.manual)) }

// manualMember returns the user index of the manual segment's k-th member
// (k in 0..manual-1).
func (p segPlan) manualMember(k int) int { return 1 + k*p.manualStride() }

// inManual reports whether user i is a member of the manual segment.
func (p segPlan) inManual(i int) bool {
	s := p.manualStride()
	return (i-1)%s == 0 && (i-1)/s < p.manual
}

// segDef is one segment the bench measures.
type segDef struct {
	slug  string // short name, in the segment's name
	label string // in the report
	kind  string // "all", "condition" or "manual"
	what  string // what it selects, for the report's legend

	// conditions is the JSON array of a condition segment's conditions.
	conditions string

	// member reports whether user i of plan p is a member.
	member func(p segPlan, i int) bool

	// pageTarget and countTarget are segments.md §5's targets for the
	// first page and for memberCount on SQLite with 1M users (0: none;
	// §5 sets the exact memberCount's for every segment).
	pageTarget, countTarget time.Duration

	// likePlain tells that the segment's pages are to cost what a
	// plain list's do (§5: the manual segment).
	likePlain bool
}

// segDefs are the segments the bench measures, in report order. The
// built-in "all" segment is the project's; the bench creates the others.
var segDefs = []segDef{
	{
		slug: "all", label: "all", kind: "all", what: "the built-in All Users segment",
		member:      func(segPlan, int) bool { return true },
		countTarget: 1500 * time.Millisecond,
	},
	{
		slug: "10pct", label: "10%", kind: "condition", what: "user bucket lt 1000",
		conditions: `[{"type":"attribute","scope":"user","attribute":"bucket","op":"lt","value":"1000"}]`,
		member:     func(_ segPlan, i int) bool { return segBucket(i) < 1000 },
		pageTarget: 50 * time.Millisecond, countTarget: 1500 * time.Millisecond,
	},
	{
		slug: "0.01pct", label: "0.01%", kind: "condition", what: "user bucket is 7",
		conditions: `[{"type":"attribute","scope":"user","attribute":"bucket","op":"is","value":"7"}]`,
		member:     func(_ segPlan, i int) bool { return segBucket(i) == 7 },
		pageTarget: 1500 * time.Millisecond, countTarget: 1500 * time.Millisecond,
	},
	{
		slug: "cross", label: "cross", kind: "condition", what: "user bucket lt 5000 and company tier is 7 (0.5%)",
		conditions: `[{"type":"attribute","scope":"user","attribute":"bucket","op":"lt","value":"5000"},` +
			`{"type":"attribute","scope":"company","attribute":"tier","op":"is","value":"7"}]`,
		member: func(p segPlan, i int) bool {
			return segBucket(i) < 5000 && segTier(p.companyOf(i)) == 7
		},
		countTarget: 1500 * time.Millisecond, // §5 sets no first-page target for it
	},
	{
		slug: "manual", label: "manual", kind: "manual", what: "manual, every (users/manual)-th user",
		member:    func(p segPlan, i int) bool { return p.inManual(i) },
		likePlain: true, countTarget: 1500 * time.Millisecond,
	},
}

// count returns the number of members of d among the plan's users.
func (p segPlan) count(d segDef) int {
	n := 0
	for i := 1; i <= p.users; i++ {
		if d.member(p, i) {
			n++
		}
	}
	return n
}
