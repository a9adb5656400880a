-- Webhook deliveries (webhooks.md §3), as the SQLite backend's
-- 0011_deliveries.sql: one row per webhook and message, queued from the
-- change log by the deliverer's fan-out, which moves the webhook's
-- fanout_cursor (a position of the feed) in the same
-- transaction. A node claims pending rows with FOR UPDATE SKIP LOCKED and
-- moves next_at to the end of its lease, so that no other node takes them
-- meanwhile and a node that dies leaves them to the others. log is a JSON
-- array of the attempts (userdata.EncodeAttempt).
CREATE TABLE deliveries (
	webhook_id   text COLLATE "C" NOT NULL,
	id           text COLLATE "C" NOT NULL, -- the message's id: the envelope's (whmsg_…)
	type         text NOT NULL,
	body         text NOT NULL, -- the envelope, as sent
	status       text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	attempts     integer NOT NULL DEFAULT 0,
	last_attempt integer NOT NULL, -- the number of the last attempt allowed
	next_at      timestamptz,      -- pending: when attempted next, or when a claim's lease ends; else NULL
	log          jsonb NOT NULL DEFAULT '[]',
	created_at   timestamptz NOT NULL,
	PRIMARY KEY (webhook_id, id)
);
CREATE INDEX deliveries_list ON deliveries (webhook_id, created_at, id);
CREATE INDEX deliveries_due ON deliveries (webhook_id, next_at) WHERE status = 'pending';

-- The ids of deleted webhooks whose deliveries are yet to be pruned, in
-- batches (PruneDeliveries).
CREATE TABLE deleted_webhooks (id text COLLATE "C" PRIMARY KEY);

-- The breaker's cooldowns in the current failing streak, and the fan-out
-- cursor, a position of the feed ("<pos>-<seq>"), which starts after the
-- changes recorded so far.
ALTER TABLE webhooks ADD COLUMN cooldowns integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN fanout_cursor text NOT NULL DEFAULT '0-0';
UPDATE webhooks SET fanout_cursor = (SELECT coalesce(max(pos), 0) FROM change_commits)::text || '-9223372036854775807';
