-- Tracked events (§15.4). Deleting a user deletes its events; deleting a
-- company clears their company.
CREATE TABLE events (
	id             text COLLATE "C" PRIMARY KEY,
	environment_id text COLLATE "C" NOT NULL,
	user_id        text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	company_id     text COLLATE "C" REFERENCES companies (id) ON DELETE SET NULL,
	name           text COLLATE "C" NOT NULL,
	attributes     jsonb NOT NULL,
	created_at     timestamptz NOT NULL
);
CREATE INDEX events_list ON events (environment_id, created_at, id);
CREATE INDEX events_list_newest ON events (environment_id, created_at DESC, id);
CREATE INDEX events_user ON events (user_id);
CREATE INDEX events_company ON events (company_id);
