package userdata

import (
	"context"
	"time"
)

// ImportResult is the outcome of one upsert of an import.
type ImportResult struct {
	Created bool
	Err     error
}

// Store is tourd's storage: one implementation per database backend, all
// held to the same behaviour by package storetest. Every method is safe for
// concurrent use. Unless a method says otherwise, unexpected failures are
// returned as plain (CodeInternal) errors.
type Store interface {
	// Authenticate returns the tenant of the active key whose hash is
	// keyHash (see HashKey). It returns CodeForbidden for an unknown or
	// revoked key, and for a key of a deleted environment.
	Authenticate(ctx context.Context, keyHash string) (Tenant, error)

	// UpsertUser creates or updates a user with its companies and
	// memberships in one transaction (§8, §9), auto-creating attribute
	// definitions. It returns the user as stored, unexpanded, and whether it
	// was created. The input must have passed Validate.
	UpsertUser(ctx context.Context, t Tenant, in *UserUpsert) (u *User, created bool, err error)
	// ImportUsers applies upserts in order, each exactly as UpsertUser would
	// (a later upsert of an id after an earlier one), batching their
	// commits. The result holds, per upsert, whether it created the user or
	// the error that made it fail; an upsert without error is committed.
	ImportUsers(ctx context.Context, t Tenant, ins []*UserUpsert) []ImportResult
	// GetUser returns a user by external id. It returns a CodeNotFound
	// error for ResourceUser when the environment has no such user.
	GetUser(ctx context.Context, t Tenant, externalID string, e Expand) (*User, error)
	// ListUsers returns a page of users. It returns CodeInvalidCursor when
	// the cursor is not a user of the environment or selects an empty page,
	// CodeNotFound for ResourceCompany when f.RequireCompany is set and
	// f.CompanyID names no company of the environment, and CodeInvalid
	// when f's segment is not a user segment (Audience.Check) or its
	// conditions do not parse.
	ListUsers(ctx context.Context, t Tenant, f UserFilter) (*List[*User], error)
	// CountUsers returns the number of users ListUsers walks, page after
	// page, with f; f's PageRequest and Expand are not used. It counts in
	// one query, whatever the number. Errors as ListUsers, but for the
	// cursor's.
	CountUsers(ctx context.Context, t Tenant, f UserFilter) (int64, error)
	// DeleteUser deletes a user, its memberships (§10) and its segment
	// memberships. It returns CodeNotFound for ResourceUser when there is
	// no such user.
	DeleteUser(ctx context.Context, t Tenant, externalID string) error

	// UpsertCompany creates or updates a company (§7.7), like UpsertUser.
	UpsertCompany(ctx context.Context, t Tenant, in *CompanyUpsert) (c *Company, created bool, err error)
	// ImportCompanies does for company upserts what ImportUsers does.
	ImportCompanies(ctx context.Context, t Tenant, ins []*CompanyUpsert) []ImportResult
	// GetCompany returns a company by external id, or CodeNotFound for
	// ResourceCompany.
	GetCompany(ctx context.Context, t Tenant, externalID string, e Expand) (*Company, error)
	// ListCompanies returns a page of companies; errors as ListUsers.
	ListCompanies(ctx context.Context, t Tenant, f CompanyFilter) (*List[*Company], error)
	// CountCompanies counts the companies ListCompanies walks with f, as
	// CountUsers counts users.
	CountCompanies(ctx context.Context, t Tenant, f CompanyFilter) (int64, error)
	// DeleteCompany deletes a company, its memberships and its segment
	// memberships, or returns CodeNotFound for ResourceCompany.
	DeleteCompany(ctx context.Context, t Tenant, externalID string) error

	// UpsertMembership creates the membership of a user in a company, both
	// given by external ids, with attrs, or merges attrs into it exactly as
	// a user upsert's memberships[] do (§8, §9.1 step 3: operations apply,
	// companyMembership definitions are created; nil or empty attrs leave
	// an existing membership untouched), and returns it as stored: its
	// UserID and CompanyID are internal ids, as in every Membership. It
	// returns CodeNotFound for ResourceCompany when the company does not
	// exist, else for ResourceUser when the user does not; nothing is
	// written then. The attribute keys must have passed
	// ValidateAttributeKeys.
	UpsertMembership(ctx context.Context, t Tenant, companyID, userID string, attrs Attributes) (*Membership, error)
	// DeleteMembership removes the link between a user and a company given
	// by external ids and returns the membership's internal id. It returns
	// CodeNotFound for ResourceMembership when either is missing or they
	// are not linked.
	DeleteMembership(ctx context.Context, t Tenant, userID, companyID string) (string, error)

	// ListAttributeDefinitions returns a page of the project's attribute
	// definitions (t.EnvironmentID is not used); errors as ListUsers.
	ListAttributeDefinitions(ctx context.Context, t Tenant, f AttributeDefinitionFilter) (*List[*AttributeDefinition], error)
	// GetAttributeDefinition returns an attribute definition of a project.
	// It returns CodeNotFound for ResourceAttributeDefinition when the
	// project has no definition with that id.
	GetAttributeDefinition(ctx context.Context, projectID, id string) (*AttributeDefinition, error)
	// CreateAttributeDefinition adds an attribute definition to a project;
	// the input must have passed Validate. It returns CodeConflict for
	// ResourceAttributeDefinition when the project has a definition of
	// that scope and codeName, and CodeNotFound for ResourceProject when
	// there is no such project.
	CreateAttributeDefinition(ctx context.Context, projectID string, in *AttributeDefinitionInput) (*AttributeDefinition, error)
	// UpdateAttributeDefinition changes an attribute definition of a
	// project and returns it; the update must have passed Validate. A new
	// DataType is taken only if every non-null value of the definition's
	// key stored in its scope, in every live environment of the project,
	// fits it (ValueFits), as checked atomically with the change: a write
	// of such a value either comes before the check, which sees it, or
	// after the change. It returns CodeNotFound for
	// ResourceAttributeDefinition as GetAttributeDefinition, then
	// CodePredefined for a predefined definition, then CodeInvalid
	// (RetypeRefused) naming a value that does not fit; on error nothing
	// changes.
	UpdateAttributeDefinition(ctx context.Context, projectID, id string, u *AttributeDefinitionUpdate) (*AttributeDefinition, error)
	// DeleteAttributeDefinition deletes an attribute definition of a
	// project and its links to events; stored values stay, and a later
	// write of the key defines it again. It returns CodeNotFound for
	// ResourceAttributeDefinition, then CodePredefined, as
	// UpdateAttributeDefinition.
	DeleteAttributeDefinition(ctx context.Context, projectID, id string) error

	// AttributeTypes returns the data type of each of keys that has an
	// attribute definition in the project's scope; keys without one are
	// absent. It answers from a cache (TypeCache) that a retype or a
	// deletion of a definition invalidates in every process, as a
	// revocation does, so that v2's writes, which coerce values to these
	// types, need no query for keys defined before.
	AttributeTypes(ctx context.Context, projectID string, scope Scope, keys []string) (map[string]DataType, error)

	// ListEventDefinitions returns a page of the project's event
	// definitions (t.EnvironmentID is not used); errors as ListUsers.
	ListEventDefinitions(ctx context.Context, t Tenant, f EventDefinitionFilter) (*List[*EventDefinition], error)
	// GetEventDefinition returns an event definition of a project. It
	// returns CodeNotFound for ResourceEventDefinition when the project has
	// no definition with that id.
	GetEventDefinition(ctx context.Context, projectID, id string) (*EventDefinition, error)
	// CreateEventDefinition adds an event definition to a project, linked
	// to the attributes it names; the input must have passed Validate. It
	// returns CodeNotFound for ResourceProject when there is no such
	// project, then CodeInvalid (EventAttributeIDs) when an attribute
	// is not an eventDefinition-scoped definition of the project, then
	// CodeConflict for ResourceEventDefinition when the project has an
	// event definition of that codeName.
	CreateEventDefinition(ctx context.Context, projectID string, in *EventDefinitionInput) (*EventDefinition, error)
	// UpdateEventDefinition changes an event definition of a project and
	// returns it; the update must have passed Validate. It returns
	// CodeNotFound for ResourceEventDefinition, then CodePredefined for a
	// predefined definition, then CodeInvalid for unknown attributes (as
	// CreateEventDefinition); on error nothing changes.
	UpdateEventDefinition(ctx context.Context, projectID, id string, u *EventDefinitionUpdate) (*EventDefinition, error)
	// DeleteEventDefinition deletes an event definition of a project and
	// its links to attributes. It returns CodeNotFound for
	// ResourceEventDefinition, then CodePredefined, then CodeInUse when a
	// live environment of the project has recorded an event of its
	// codeName (checked atomically with the deletion: an event tracked
	// meanwhile either is seen or defines the event again).
	DeleteEventDefinition(ctx context.Context, projectID, id string) error

	// ListSegments returns a page of the project's segments, the built-in
	// ones included; errors as ListUsers.
	ListSegments(ctx context.Context, projectID string, f SegmentFilter) (*List[*Segment], error)
	// GetSegment returns a segment of a project. It returns CodeNotFound
	// for ResourceSegment when the project has no segment with that id.
	GetSegment(ctx context.Context, projectID, id string) (*Segment, error)
	// CreateSegment adds a condition or manual segment to a project; the
	// input must have passed Validate (and its conditions the caller's
	// checks). It returns CodeNotFound for ResourceProject when there is
	// no such project.
	CreateSegment(ctx context.Context, projectID string, in *SegmentInput) (*Segment, error)
	// UpdateSegment changes a segment of a project and returns it; the
	// update must have passed Validate. It returns CodeNotFound for
	// ResourceSegment as GetSegment, then the error of
	// Segment.CheckUpdate (CodeBuiltIn, CodeInvalid); on error nothing
	// changes. An update that sets nothing changes nothing, UpdatedAt
	// included.
	UpdateSegment(ctx context.Context, projectID, id string, u *SegmentUpdate) (*Segment, error)
	// DeleteSegment deletes a segment of a project and its members in
	// every environment. It returns CodeNotFound for ResourceSegment, then
	// CodeBuiltIn for a built-in segment.
	DeleteSegment(ctx context.Context, projectID, id string) error
	// AddSegmentMember makes the user or company (as the segment's BizType
	// says) with the given external id in t's environment a member of a
	// manual segment of t's project; adding a member again changes
	// nothing. The membership is the environment's row's: it goes when
	// that row is deleted (and with the environment), and a row made again
	// with the same external id is not a member. It returns CodeNotFound
	// for ResourceSegment, then CodeInvalid (ErrNotManual) unless the
	// segment is manual, then MemberNotFound.
	AddSegmentMember(ctx context.Context, t Tenant, segmentID, externalID string) error
	// RemoveSegmentMember removes a member from a manual segment, as
	// AddSegmentMember adds it, with the same errors; removing a user or
	// company that is not a member changes nothing.
	RemoveSegmentMember(ctx context.Context, t Tenant, segmentID, externalID string) error

	// ListWebhooks returns a page of the webhooks of t's environment; p's
	// Sort is by SortCreatedAt. It returns CodeInvalidCursor when the
	// cursor is not a webhook of the environment or selects an empty page.
	ListWebhooks(ctx context.Context, t Tenant, p PageRequest) (*List[*Webhook], error)
	// GetWebhook returns a webhook of t's environment. It returns
	// CodeNotFound for ResourceWebhook when the environment has no webhook
	// with that id.
	GetWebhook(ctx context.Context, t Tenant, id string) (*Webhook, error)
	// CreateWebhook adds a webhook to t's environment, with a clear
	// breaker; the input must have passed Validate.
	CreateWebhook(ctx context.Context, t Tenant, in *WebhookInput) (*Webhook, error)
	// UpdateWebhook applies u to a webhook of t's environment
	// (Webhook.Apply) and returns it; the update must have passed
	// Validate. It returns CodeNotFound for ResourceWebhook as GetWebhook;
	// on error nothing changes.
	UpdateWebhook(ctx context.Context, t Tenant, id string, u *WebhookUpdate) (*Webhook, error)
	// DeleteWebhook deletes a webhook of t's environment. It returns
	// CodeNotFound for ResourceWebhook as GetWebhook.
	DeleteWebhook(ctx context.Context, t Tenant, id string) error

	// TrackEvent records an event of a user (§15.4), creating its event
	// definition, and eventDefinition-scoped attribute definitions linked
	// to it, when missing. It returns CodeNotFound for ResourceUser or
	// ResourceCompany when the user or the given company does not exist.
	TrackEvent(ctx context.Context, t Tenant, in *EventInput) (*Event, error)
	// ListEvents returns a page of the environment's events; errors as
	// ListUsers.
	ListEvents(ctx context.Context, t Tenant, f EventFilter) (*List[*Event], error)

	// CreateKey stores a new active key (by its hash and display prefix) for
	// an environment of a project, each given by id or by name (an id wins
	// over a name), creating both when no name matches: a new project is
	// seeded with the predefined definitions and the BuiltInSegments, and
	// its first environment is its primary. It returns CodeInvalid for a name that matches several
	// projects or environments (listing their ids), for the id of another
	// project's environment, and for a name CheckName refuses.
	CreateKey(ctx context.Context, project, environment, keyHash, prefix string) (*APIKey, error)
	// ListKeys returns every key, oldest first.
	ListKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeKey deactivates the key with the given id or hash. It returns
	// CodeNotFound for ResourceKey when neither matches a key.
	RevokeKey(ctx context.Context, idOrHash string) error

	// CreateProject creates a project with one environment, its primary,
	// named PrimaryEnvironment, and seeds the predefined definitions and
	// the BuiltInSegments as CreateKey seeds a new project. It returns
	// CodeInvalid for a name CheckName refuses.
	CreateProject(ctx context.Context, name string) (*Project, error)
	// ListProjects returns every project, oldest first, each with its live
	// environments in creation order (its primary first).
	ListProjects(ctx context.Context) ([]*Project, error)
	// CreateEnvironment adds a non-primary environment to a project. It
	// returns CodeNotFound for ResourceProject when there is no such
	// project, and CodeInvalid for a name CheckName refuses.
	CreateEnvironment(ctx context.Context, projectID, name string) (*Environment, error)
	// Environment returns a live environment by id, from a cache that
	// changes to environments invalidate (through the epoch of the key
	// cache), so that most calls need no query. It returns CodeNotFound for
	// ResourceEnvironment when there is none or it was deleted.
	Environment(ctx context.Context, id string) (*Environment, error)
	// ListEnvironments returns a page of a project's live environments (an
	// unknown project has none); errors as ListUsers.
	ListEnvironments(ctx context.Context, projectID string, f EnvironmentFilter) (*List[*Environment], error)
	// UpdateEnvironment renames a live environment of a project, setting
	// its UpdatedAt, at once for every process sharing the database (as
	// RevokeKey revokes), and returns it. It returns CodeInvalid for a
	// name CheckName refuses and CodeNotFound for ResourceEnvironment when
	// the project has no such live environment.
	UpdateEnvironment(ctx context.Context, projectID, id, name string) (*Environment, error)
	// DeleteEnvironment deletes a live environment of a project: at once
	// it is gone from every lookup of every process sharing the database
	// (Environment, ListEnvironments, ListProjects, Authenticate of its
	// keys, as RevokeKey revokes), and its rows (users, companies,
	// memberships, events, segment members, webhooks, keys) are removed
	// in the background, in bounded batches, by the store that purges
	// (each PostgreSQL store; on SQLite, the one holding the server lock),
	// which resumes an unfinished purge when it opens. Personal tokens
	// listing it keep their other environments. It returns CodeNotFound for
	// ResourceEnvironment when the project has no such live environment
	// and CodePrimaryEnvironment for the project's primary.
	DeleteEnvironment(ctx context.Context, projectID, id string) error

	// CreateToken stores a new personal token of a project, by its hash. It
	// returns CodeInvalid for an input Validate refuses or naming the first
	// environment that is not a live environment of the project, and
	// CodeNotFound for ResourceProject when there is no such project.
	CreateToken(ctx context.Context, in TokenInput) (*Token, error)
	// ListTokens returns the personal tokens of a project, or of every
	// project when projectID is "", oldest first, revoked ones included.
	// It returns CodeNotFound for ResourceProject when there is no such
	// project.
	ListTokens(ctx context.Context, projectID string) ([]*Token, error)
	// RevokeToken revokes the personal token with the given id or hash, at
	// once for every process sharing the database, as RevokeKey does; a
	// revoked token keeps its first revocation time. It returns
	// CodeNotFound for ResourceToken when neither matches a token.
	RevokeToken(ctx context.Context, idOrHash string) error
	// AuthenticateToken returns what the unrevoked personal token whose
	// hash is given (HashKey of the whole token) may do, from a cache as
	// Authenticate does (an entry goes at its token's expiry at the
	// latest). It returns CodeForbidden for an unknown or revoked token,
	// and CodeExpired, with the principal, for a token past its ExpiresAt.
	// A token's use is recorded in LastUsedAt when the store reads it from
	// the database (on a cache miss) and the recorded use is at least
	// TokenUseInterval old, by a write that the call does not wait for.
	AuthenticateToken(ctx context.Context, hash string) (Principal, error)

	ChangeLog
	Deliveries

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources; in-flight calls finish first.
	Close() error
}

// ChangeLog is the store's log of changes (webhooks.md §1, §4). Every
// write that changes stored data records its changes in its own
// transaction: UpsertUser, UpsertCompany, their imports and
// UpsertMembership record the creation of each user, company and
// membership they create, in the order they write them, and the update of
// each whose attributes they change (with Change.Previous); DeleteUser,
// DeleteCompany and DeleteMembership record the deletion, with the
// object as it was (not the memberships a deletion cascades to); TrackEvent
// records the event. A write that stores nothing new records nothing, nor
// does an environment's deletion or purge (which removes its log).
type ChangeLog interface {
	// Changes returns the changes of the environment committed after
	// q.After that q.Types selects, oldest first, at most q.Limit (1 or
	// more). Following Next from any position yields every change
	// committed after it exactly once, however many writers commit
	// meanwhile. It returns CodeInvalidCursor for an After that is not a
	// position, and CodeCursorExpired for one before changes of the
	// environment that PruneChanges removed.
	Changes(ctx context.Context, environmentID string, q ChangeQuery) (*ChangePage, error)
	// ChangeSignal returns a channel that is closed when changes may have
	// become readable since the call, soon after they commit, in this
	// process or (for a shared database) another.
	ChangeSignal() <-chan struct{}
	// PruneChanges removes at most limit changes committed before before,
	// oldest first, and returns how many it removed. It keeps those that
	// an enabled webhook of their environment has yet to fan out (that
	// follow its Fanout.Cursor), whatever their age.
	PruneChanges(ctx context.Context, before time.Time, limit int) (int64, error)
}
