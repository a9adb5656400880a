-- Segments (segments.md), as the SQLite backend's 0008_segments.sql: saved
-- audiences of a project, and the members of its manual segments, per
-- environment.
--
-- conditions is json, not jsonb: it keeps the array exactly as written
-- (jsonb would reorder the keys of its objects), so that a segment reads
-- back alike on both backends. Nothing queries inside it.
CREATE TABLE segments (
	id         text COLLATE "C" PRIMARY KEY,
	project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name       text COLLATE "C" NOT NULL,
	biz_type   integer NOT NULL CHECK (biz_type IN (1, 2)), -- userdata.ScopeUser, ScopeCompany
	kind       text NOT NULL CHECK (kind IN ('all', 'condition', 'manual')),
	conditions json, -- a JSON array, as written; NULL unless kind is 'condition'
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
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
	segment_id     text COLLATE "C" NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
	environment_id text COLLATE "C" NOT NULL,
	entity_id      text COLLATE "C" NOT NULL,
	user_id        text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
	company_id     text COLLATE "C" REFERENCES companies (id) ON DELETE CASCADE,
	created_at     timestamptz NOT NULL,
	PRIMARY KEY (segment_id, entity_id),
	CHECK (entity_id = coalesce(user_id, company_id) AND (user_id IS NULL OR company_id IS NULL))
);
CREATE INDEX segment_members_list ON segment_members (segment_id, environment_id, created_at, entity_id);
CREATE INDEX segment_members_user ON segment_members (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX segment_members_company ON segment_members (company_id) WHERE company_id IS NOT NULL;

-- The built-in segments of the projects that exist (userdata.BuiltInSegments),
-- as old as their project. Ids: "c" and 24 random hexadecimal digits (of
-- gen_random_uuid), 25 characters as userdata.NewID makes them.
INSERT INTO segments (id, project_id, name, biz_type, kind, created_at, updated_at)
	SELECT 'c' || left(replace(gen_random_uuid()::text, '-', ''), 24), p.id, b.name, b.biz_type, 'all', p.created_at, p.created_at
	FROM projects p, (VALUES ('All Users', 1), ('All Companies', 2)) AS b (name, biz_type);
