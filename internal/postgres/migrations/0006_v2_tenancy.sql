-- The tenancy of the v2 API (v2.md §2), as the SQLite backend's
-- 0005_v2_tenancy.sql: project and environment names need not be unique;
-- every project has exactly one primary environment, its first; every
-- environment has a public SDK token, an update time and a deletion time
-- (its rows are removed in the background once deleted); projects have
-- personal tokens.

ALTER TABLE projects DROP CONSTRAINT projects_name_key;
CREATE INDEX projects_name ON projects (name);

ALTER TABLE environments DROP CONSTRAINT environments_project_id_name_key;
ALTER TABLE environments
	ADD COLUMN is_primary boolean NOT NULL DEFAULT false,
	ADD COLUMN token      text COLLATE "C",
	ADD COLUMN updated_at timestamptz,
	ADD COLUMN deleted_at timestamptz; -- NULL while it is live
-- The first environment of each project (by creation time, then id) becomes
-- its primary. Tokens: 32 random hexadecimal digits (gen_random_uuid, 122
-- random bits, without its dashes), the form of
-- userdata.NewEnvironmentToken.
UPDATE environments e SET
	token = replace(gen_random_uuid()::text, '-', ''),
	updated_at = e.created_at,
	is_primary = e.id = (SELECT f.id FROM environments f WHERE f.project_id = e.project_id ORDER BY f.created_at, f.id LIMIT 1);
ALTER TABLE environments
	ALTER COLUMN token SET NOT NULL,
	ALTER COLUMN updated_at SET NOT NULL;
CREATE UNIQUE INDEX environments_token ON environments (token);
CREATE UNIQUE INDEX environments_primary ON environments (project_id) WHERE is_primary;
CREATE INDEX environments_project ON environments (project_id, created_at, id);

-- Personal tokens (utp_) of the v2 API: only a hash of each is stored.
CREATE TABLE personal_tokens (
	id           text COLLATE "C" PRIMARY KEY,
	project_id   text COLLATE "C" NOT NULL REFERENCES projects (id),
	name         text NOT NULL,
	token_hash   text COLLATE "C" NOT NULL UNIQUE, -- userdata.HashKey of the whole token
	prefix       text NOT NULL,
	scopes       text NOT NULL, -- capability names joined by commas
	environments text,          -- a JSON array of environment ids; NULL: every environment
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz,
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX personal_tokens_project ON personal_tokens (project_id, created_at, id);
