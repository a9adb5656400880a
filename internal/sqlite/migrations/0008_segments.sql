-- Segments (segments.md): saved audiences of a project, and the members of
-- its manual segments, per environment.
CREATE TABLE segments (
	id         TEXT PRIMARY KEY,
	project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	biz_type   INTEGER NOT NULL CHECK (biz_type IN (1, 2)), -- userdata.ScopeUser, ScopeCompany
	kind       TEXT NOT NULL CHECK (kind IN ('all', 'condition', 'manual')),
	conditions TEXT, -- a JSON array, as written; NULL unless kind is 'condition'
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CHECK ((kind = 'condition') = (conditions IS NOT NULL))
);
CREATE INDEX segments_list ON segments (project_id, created_at, id);
-- One built-in segment per bizType and project.
CREATE UNIQUE INDEX segments_all ON segments (project_id, biz_type) WHERE kind = 'all';

-- A member is a row of users or of companies (as its segment's biz_type
-- says), so it belongs to that row's environment: the row's deletion
-- cascades to its memberships, and a row made again with the same external
-- id (a new row) is not a member. entity_id is the row's id, whichever
-- table it is in; user_id or company_id holds it too, for the foreign key.
-- created_at is the row's (never changed), so that the members of a segment
-- in an environment page in the order of the users (companies) list, on
-- segment_members_list, however few of the environment's rows they are.
CREATE TABLE segment_members (
	segment_id     TEXT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
	environment_id TEXT NOT NULL,
	entity_id      TEXT NOT NULL,
	user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
	company_id     TEXT REFERENCES companies (id) ON DELETE CASCADE,
	created_at     INTEGER NOT NULL,
	PRIMARY KEY (segment_id, entity_id),
	CHECK (entity_id = coalesce(user_id, company_id) AND (user_id IS NULL OR company_id IS NULL))
);
CREATE INDEX segment_members_list ON segment_members (segment_id, environment_id, created_at, entity_id);
CREATE INDEX segment_members_user ON segment_members (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX segment_members_company ON segment_members (company_id) WHERE company_id IS NOT NULL;

-- The built-in segments of the projects that exist (userdata.BuiltInSegments),
-- as old as their project. Ids: "c" and 24 random hexadecimal digits, 25
-- characters as userdata.NewID makes them.
INSERT INTO segments (id, project_id, name, biz_type, kind, created_at, updated_at)
	SELECT 'c' || lower(hex(randomblob(12))), p.id, b.name, b.biz_type, 'all', p.created_at, p.created_at
	FROM projects p, (SELECT 'All Users' AS name, 1 AS biz_type UNION ALL SELECT 'All Companies', 2) b;
