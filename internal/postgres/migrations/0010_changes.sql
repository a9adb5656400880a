-- The change log (webhooks.md §1), as the SQLite backend's 0009_changes.sql:
-- one row per committed change of an environment's data, written in the
-- transaction of the change, holding the object as of the change (object_id
-- is the user's or company's external id, or the membership's or event's
-- id; user_id and company_id a membership's internal ids, or an event's
-- external ones; previous the previousAttributes of an update). attributes
-- is jsonb, read back as users.attributes is (see compact), so that a
-- change shows its object as GET does; previous is json, which keeps the
-- keys in the order userdata.PreviousAttributes wrote them (jsonb would
-- reorder them).
--
-- A change's position in the feed is (tx, seq): tx is the writing
-- transaction's id, seq its order in the log. Several processes write at
-- once, so a row may commit after rows with a greater seq; the feed
-- therefore serves only the rows of transactions below the horizon
-- pg_snapshot_xmin(pg_current_snapshot()), all of which have ended (and no
-- later transaction gets a smaller id), in (tx, seq) order: once served, a
-- position is never filled in before. See change.go.
CREATE TABLE changes (
	tx                xid8 NOT NULL DEFAULT pg_current_xact_id(),
	seq               bigint GENERATED ALWAYS AS IDENTITY,
	id                text COLLATE "C" NOT NULL,
	environment_id    text COLLATE "C" NOT NULL,
	type              text COLLATE "C" NOT NULL,
	created_at        timestamptz NOT NULL,
	object_id         text COLLATE "C" NOT NULL,
	object_created_at timestamptz NOT NULL,
	user_id           text COLLATE "C",
	company_id        text COLLATE "C",
	definition_id     text COLLATE "C",
	attributes        jsonb NOT NULL,
	previous          json,
	PRIMARY KEY (tx, seq)
);
CREATE INDEX changes_feed ON changes (environment_id, tx, seq);
CREATE INDEX changes_age ON changes (created_at);

-- The newest position pruned from each environment's log: a cursor before
-- it has lost changes (410 E1901).
CREATE TABLE changes_pruned (
	environment_id text COLLATE "C" PRIMARY KEY,
	tx             xid8 NOT NULL,
	seq            bigint NOT NULL
);
