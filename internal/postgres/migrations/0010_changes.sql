-- The change log (webhooks.md §1), as the SQLite backend's 0009_changes.sql:
-- one row per committed change of an environment's data, written by the
-- statements of the write, in its transaction, holding the object as of the
-- change: object_id is the user's or company's external id, or the
-- membership's or event's id; user_id and company_id a membership's
-- internal ids, or an event's external ones. attributes is jsonb, read
-- back as users.attributes is (see compact), so that a change shows its
-- object as GET does. An update keeps the attributes before it (before),
-- from which the reader computes its previousAttributes
-- (userdata.PreviousAttributes), so that the rule is written once, in Go.
--
-- A change's position in the feed is (tx, seq): tx is the writing
-- transaction's id, seq the change's place among its transaction's, in the
-- order the writing process made them. Several processes write at once,
-- so a transaction may commit after others that took greater ids; the
-- feed therefore serves only the rows of transactions below the horizon
-- pg_snapshot_xmin(pg_current_snapshot()), all of which have ended (and no
-- later transaction gets a smaller id), in (tx, seq) order: once served, a
-- position is never filled in before. See feed.go.
CREATE TABLE changes (
	tx                xid8 NOT NULL DEFAULT pg_current_xact_id(),
	seq               bigint NOT NULL,
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
	before            jsonb,
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

-- tourd_conflict fails a statement as a serialization failure (SQLSTATE
-- 40001), which the store retries: an upsert met a row that a transaction
-- committed after the statement's snapshot was taken, so it could not read
-- what the row held before its change.
CREATE FUNCTION tourd_conflict() RETURNS text
	LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'a row was created concurrently: run the write again'; END $$;
