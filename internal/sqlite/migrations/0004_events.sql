-- Tracked events (§15.4). Deleting a user deletes its events; deleting a
-- company clears their company.
CREATE TABLE events (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	company_id     TEXT REFERENCES companies (id) ON DELETE SET NULL,
	name           TEXT NOT NULL,
	attributes     TEXT NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE INDEX events_list ON events (environment_id, created_at, id);
CREATE INDEX events_list_newest ON events (environment_id, created_at DESC, id);
CREATE INDEX events_user ON events (user_id);
CREATE INDEX events_company ON events (company_id);
