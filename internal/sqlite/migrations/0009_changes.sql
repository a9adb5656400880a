-- The change log (webhooks.md §1): one row per committed change of an
-- environment's data, written in the transaction of the change. seq is
-- its position: the one writer commits in seq order, so the feed reads
-- the log in seq order and never sees a position filled in later. seq
-- takes the next rowid, and pruning always keeps the newest row, so no
-- position is ever given twice (without AUTOINCREMENT's bookkeeping on
-- every write). Pruning reads the log from its start in seq order, so
-- created_at needs no index.
--
-- The row holds the object as of the change, enough to render its
-- envelope again byte for byte: object_id is the user's or company's
-- external id, or the membership's or event's id; object_created_at the
-- object's createdAt; user_id and company_id a membership's internal
-- user and company ids, or an event's external ones; definition_id an
-- event's definition; previous the previousAttributes of an update.
CREATE TABLE changes (
	seq               INTEGER PRIMARY KEY,
	id                TEXT NOT NULL,
	environment_id    TEXT NOT NULL,
	type              TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	object_id         TEXT NOT NULL,
	object_created_at INTEGER NOT NULL,
	user_id           TEXT,
	company_id        TEXT,
	definition_id     TEXT,
	attributes        TEXT NOT NULL,
	previous          TEXT
);
CREATE INDEX changes_feed ON changes (environment_id, seq);

-- The newest position pruned from each environment's log: a cursor before
-- it has lost changes (410 E1901).
CREATE TABLE changes_pruned (
	environment_id TEXT PRIMARY KEY,
	through        INTEGER NOT NULL
);
