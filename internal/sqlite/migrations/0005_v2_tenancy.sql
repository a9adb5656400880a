-- The tenancy of the v2 API (v2.md §2): project and environment names need
-- not be unique; every project has exactly one primary environment, its
-- first; every environment has a public SDK token, an update time and a
-- deletion time (its rows are removed in the background once deleted);
-- projects have personal tokens.
--
-- SQLite cannot drop a UNIQUE constraint, so projects and environments are
-- rebuilt by the procedure of https://www.sqlite.org/lang_altertable.html
-- ("Making Other Kinds Of Table Schema Changes"): the runner turns foreign
-- keys off around the transaction and runs PRAGMA foreign_key_check before
-- committing (steps 1, 2, 10, 11 and 12); here, for each table, a new table
-- in the new form, its rows copied, the old one dropped, the new one renamed
-- and the indexes made again (steps 4 to 8). Neither table has triggers or
-- views (step 9). Other tables reference them by name, so their foreign
-- keys hold on the new tables.

CREATE TABLE new_projects (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
);
INSERT INTO new_projects (id, name, created_at) SELECT id, name, created_at FROM projects;
DROP TABLE projects;
ALTER TABLE new_projects RENAME TO projects;
CREATE INDEX projects_name ON projects (name);

-- The first environment of each project (by creation time, then id) becomes
-- its primary. Tokens: 32 random hexadecimal digits, as
-- userdata.NewEnvironmentToken makes them.
CREATE TABLE new_environments (
	id         TEXT PRIMARY KEY,
	project_id TEXT NOT NULL REFERENCES projects (id),
	name       TEXT NOT NULL,
	is_primary INTEGER NOT NULL DEFAULT 0,
	token      TEXT NOT NULL UNIQUE, -- the public SDK token
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER -- NULL while it is live
);
INSERT INTO new_environments (id, project_id, name, is_primary, token, created_at, updated_at)
	SELECT e.id, e.project_id, e.name,
		e.id = (SELECT f.id FROM environments f WHERE f.project_id = e.project_id ORDER BY f.created_at, f.id LIMIT 1),
		lower(hex(randomblob(16))), e.created_at, e.created_at
	FROM environments e;
DROP TABLE environments;
ALTER TABLE new_environments RENAME TO environments;
CREATE UNIQUE INDEX environments_primary ON environments (project_id) WHERE is_primary;
CREATE INDEX environments_project ON environments (project_id, created_at, id);

-- Personal tokens (utp_) of the v2 API: only a hash of each is stored.
CREATE TABLE personal_tokens (
	id           TEXT PRIMARY KEY,
	project_id   TEXT NOT NULL REFERENCES projects (id),
	name         TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE, -- userdata.HashKey of the whole token
	prefix       TEXT NOT NULL,
	scopes       TEXT NOT NULL, -- capability names joined by commas
	environments TEXT,          -- a JSON array of environment ids; NULL: every environment
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX personal_tokens_project ON personal_tokens (project_id, created_at, id);
