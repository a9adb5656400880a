// Package storetest is the conformance suite every userdata.Store must
// pass: the same tests run against SQLite and PostgreSQL.
package storetest

import (
	"encoding/json"
	"testing"

	"tourd/internal/userdata"
)

// Opener returns a new, empty store for one test; it arranges its own
// cleanup with t.Cleanup.
type Opener func(t testing.TB) userdata.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s userdata.Store)
	}{
		{"Keys", testKeys},
		{"KeyTenants", testKeyTenants},
		{"Projects", testProjects},
		{"ProjectDefinitions", testProjectDefinitions},
		{"EnvironmentLookup", testEnvironmentLookup},
		{"ListEnvironments", testListEnvironments},
		{"UpdateEnvironment", testUpdateEnvironment},
		{"DeleteEnvironment", testDeleteEnvironment},
		{"PurgeWhileWriting", testPurgeWhileWriting},
		{"SegmentBuiltIns", testSegmentBuiltIns},
		{"SegmentCRUD", testSegmentCRUD},
		{"SegmentValidation", testSegmentValidation},
		{"ListSegments", testListSegments},
		{"SegmentMembers", testSegmentMembers},
		{"SegmentMembersPurge", testSegmentMembersPurge},
		{"WebhookCRUD", testWebhookCRUD},
		{"WebhookBreaker", testWebhookBreaker},
		{"ListWebhooks", testListWebhooks},
		{"WebhooksPurge", testWebhooksPurge},
		{"FanOut", testFanOut},
		{"ClaimDeliveries", testClaimDeliveries},
		{"ListAndPruneDeliveries", testListAndPruneDeliveries},
		{"DeliveriesPurge", testDeliveriesPurge},
		{"Audience", testAudience},
		{"Tokens", testTokens},
		{"TokenRevocation", testTokenRevocation},
		{"TokenExpiry", testTokenExpiry},
		{"TokenLastUsed", testTokenLastUsed},
		{"UpsertUser", testUpsertUser},
		{"AttributeMerge", testAttributeMerge},
		{"NumberFormat", testNumberFormat},
		{"UpsertUserCompanies", testUpsertUserCompanies},
		{"UpsertUserMemberships", testUpsertUserMemberships},
		{"UpsertCompany", testUpsertCompany},
		{"Expand", testExpand},
		{"Delete", testDelete},
		{"DeleteMembership", testDeleteMembership},
		{"UpsertMembership", testUpsertMembership},
		{"UpsertMembershipMissing", testUpsertMembershipMissing},
		{"Tenancy", testTenancy},
		{"Definitions", testDefinitions},
		{"DefinitionFilters", testDefinitionFilters},
		{"EventDefinitions", testEventDefinitions},
		{"AttributeDefinitionCRUD", testAttributeDefinitionCRUD},
		{"AttributeDefinitionRedefined", testAttributeDefinitionRedefined},
		{"EventDefinitionCRUD", testEventDefinitionCRUD},
		{"DefinitionListsV2", testDefinitionListsV2},
		{"EventDefinitionRecorded", testEventDefinitionRecorded},
		{"Retype", testRetype},
		{"RetypeManyValues", testRetypeManyValues},
		{"AttributeTypes", testAttributeTypes},
		{"Paging", testPaging},
		{"PagingDescending", testPagingDescending},
		{"InvalidCursor", testInvalidCursor},
		{"UserFilters", testUserFilters},
		{"CreatedFilters", testCreatedFilters},
		{"RequireCompany", testRequireCompany},
		{"ConcurrentUpserts", testConcurrentUpserts},
		{"ConcurrentMemberships", testConcurrentMemberships},
		{"Import", testImport},
		{"Events", testEvents},
		{"Operations", testOperations},
		{"OperationNumbers", testOperationNumbers},
		{"OperationEmail", testOperationEmail},
		{"CompanyOperations", testCompanyOperations},
		{"MembershipOperations", testMembershipOperations},
		{"OperationAtomicity", testOperationAtomicity},
		{"ImportOperations", testImportOperations},
		{"OperationDefinitions", testOperationDefinitions},
		{"EventOperations", testEventOperations},
		{"ConcurrentOperations", testConcurrentOperations},
		{"ChangeLog", testChangeLog},
		{"ChangeFeed", testChangeFeed},
		{"ChangesConcurrent", testChangesConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Tenant creates a key for project/environment in s and returns its
// tenant.
func Tenant(t testing.TB, s userdata.Store, project, env string) userdata.Tenant {
	t.Helper()
	_, hash, prefix := userdata.NewKey()
	if _, err := s.CreateKey(t.Context(), project, env, hash, prefix); err != nil {
		t.Fatalf("CreateKey(%q, %q): %v", project, env, err)
	}
	tn, err := s.Authenticate(t.Context(), hash)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return tn
}

// attrs decodes a JSON object literal into Attributes the way the HTTP
// layer does.
func attrs(t *testing.T, js string) userdata.Attributes {
	t.Helper()
	var a userdata.Attributes
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatalf("bad test attributes %s: %v", js, err)
	}
	return a
}

// decode turns stored attributes into a map for comparison.
func decode(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("stored attributes %s are not a JSON object: %v", raw, err)
	}
	return m
}

// upsertUser upserts a user and fails the test on error.
func upsertUser(t *testing.T, s userdata.Store, tn userdata.Tenant, in *userdata.UserUpsert) (*userdata.User, bool) {
	t.Helper()
	if err := in.Validate(); err != nil {
		t.Fatalf("test input %+v is invalid: %v", in, err)
	}
	u, created, err := s.UpsertUser(t.Context(), tn, in)
	if err != nil {
		t.Fatalf("UpsertUser(%q): %v", in.ExternalID, err)
	}
	return u, created
}

// user upserts a user with only attributes.
func user(t *testing.T, s userdata.Store, tn userdata.Tenant, id, js string) *userdata.User {
	t.Helper()
	u, _ := upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: id, Attributes: attrs(t, js)})
	return u
}

func getUser(t *testing.T, s userdata.Store, tn userdata.Tenant, id string, x userdata.Expand) *userdata.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), tn, id, x)
	if err != nil {
		t.Fatalf("GetUser(%q): %v", id, err)
	}
	return u
}

func getCompany(t *testing.T, s userdata.Store, tn userdata.Tenant, id string, x userdata.Expand) *userdata.Company {
	t.Helper()
	c, err := s.GetCompany(t.Context(), tn, id, x)
	if err != nil {
		t.Fatalf("GetCompany(%q): %v", id, err)
	}
	return c
}

// wantCode fails unless err carries the code (and, for not-found, the
// resource).
func wantCode(t *testing.T, what string, err error, code userdata.Code, resource string) {
	t.Helper()
	if got := userdata.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
	if code == userdata.CodeNotFound && !userdata.IsNotFound(err, resource) {
		t.Fatalf("%s: error %v, want not found for %s", what, err, resource)
	}
}
