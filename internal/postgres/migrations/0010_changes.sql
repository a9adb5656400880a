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
-- A change's position in the feed is seq, taken from changes_seq when the
-- change's row is inserted, by the statement that writes the object, after
-- it has locked the object's row (the change is inserted from the rows the
-- write returns): of two changes of one object, the one whose transaction
-- locked the row first, and so committed first, has the smaller seq. The
-- default takes the transaction's id before the seq (CASE evaluates its
-- condition first): a transaction holds an id from before any seq it takes,
-- which the feed's watermark relies on. Transactions that took their seqs
-- earlier may commit later, or roll back and leave gaps: the feed serves
-- only up to a settled watermark, below which every transaction that took
-- a seq has ended. See feed.go. (changes_seq caches no values: its
-- last_value is the last seq taken by any process.)
CREATE SEQUENCE changes_seq;
CREATE TABLE changes (
	seq               bigint PRIMARY KEY DEFAULT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('changes_seq') END,
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
	before            jsonb
);
ALTER SEQUENCE changes_seq OWNED BY changes.seq;
CREATE INDEX changes_feed ON changes (environment_id, seq);
CREATE INDEX changes_age ON changes (created_at);

-- The greatest watermark a store has settled (see feed.go), which others
-- may start from: every transaction that took a seq up to it has ended.
CREATE TABLE changes_settled (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq bigint NOT NULL
);
INSERT INTO changes_settled (seq) VALUES (0);

-- The newest position pruned from each environment's log: a cursor before
-- it has lost changes (410 E1901).
CREATE TABLE changes_pruned (
	environment_id text COLLATE "C" PRIMARY KEY,
	seq            bigint NOT NULL
);

-- tourd_conflict fails a statement as a serialization failure (SQLSTATE
-- 40001), which the store retries: an upsert met a row that a transaction
-- committed after the statement's snapshot was taken, so it could not read
-- what the row held before its change.
CREATE FUNCTION tourd_conflict() RETURNS text
	LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'a row was created concurrently: run the write again'; END $$;
