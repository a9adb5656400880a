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
-- A change's position in the feed is (pos, seq). seq is the change's place
-- among its transaction's, in the order the writing process made them
-- (the order of the requests, webhooks.md §1). pos is its transaction's
-- (change_commits): a value of changes_pos that the transaction's last
-- statement takes, after every row lock it takes (see sealSQL). Of two
-- transactions that change one row, the one that locked it first
-- committed first, holding the lock, and took its pos before the other
-- could lock the row: pos order is commit order for the changes of one
-- object. Transactions that took their pos earlier may commit later, or
-- roll back and leave gaps: the feed serves only up to a settled
-- watermark, below which every transaction that took a pos has ended.
-- See feed.go.
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

-- The position of each transaction's changes of an environment (see
-- above). The default takes the transaction's id before the pos (CASE
-- evaluates its condition first): a transaction holds an id from before
-- any pos it takes, which the feed's watermark relies on. changes_pos
-- caches no values: its last_value is the last pos taken by any process.
CREATE SEQUENCE changes_pos;
CREATE TABLE change_commits (
	environment_id text COLLATE "C" NOT NULL,
	pos            bigint NOT NULL DEFAULT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('changes_pos') END,
	tx             xid8 NOT NULL DEFAULT pg_current_xact_id(),
	created_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (environment_id, pos)
);
CREATE INDEX change_commits_age ON change_commits (created_at);

-- The greatest watermark a store has settled (see feed.go), which others
-- may start from: every transaction that took a pos up to it has ended.
CREATE TABLE changes_settled (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	pos bigint NOT NULL
);
INSERT INTO changes_settled (pos) VALUES (0);

-- The newest position pruned from each environment's log: a cursor before
-- it has lost changes (410 E1901).
CREATE TABLE changes_pruned (
	environment_id text COLLATE "C" PRIMARY KEY,
	pos            bigint NOT NULL,
	seq            bigint NOT NULL
);

-- tourd_conflict fails a statement as a serialization failure (SQLSTATE
-- 40001), which the store retries: an upsert met a row that a transaction
-- committed after the statement's snapshot was taken, so it could not read
-- what the row held before its change.
CREATE FUNCTION tourd_conflict() RETURNS text
	LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'a row was created concurrently: run the write again'; END $$;
