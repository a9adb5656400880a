-- Webhook deliveries (webhooks.md §3): one row per webhook and message,
-- queued from the change log by the deliverer's fan-out, which moves the
-- webhook's fanout_cursor (a position of the change log, the feed's) in
-- the same transaction. A pending delivery is attempted at next_at; a
-- node that claims it moves next_at to the end of its lease, so that a
-- delivery whose sender died is attempted again. log is a JSON array of
-- its attempts (userdata.EncodeAttempt). Times are microseconds since the
-- epoch, as elsewhere.
CREATE TABLE deliveries (
	webhook_id   TEXT NOT NULL,
	id           TEXT NOT NULL, -- the message's id: the envelope's (whmsg_…)
	type         TEXT NOT NULL,
	body         TEXT NOT NULL, -- the envelope, as sent
	status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_attempt INTEGER NOT NULL, -- the number of the last attempt allowed
	next_at      INTEGER,          -- pending: when attempted next, or when a claim's lease ends; else NULL
	log          TEXT NOT NULL DEFAULT '[]',
	created_at   INTEGER NOT NULL,
	UNIQUE (webhook_id, id)
);
CREATE INDEX deliveries_list ON deliveries (webhook_id, created_at, id);
CREATE INDEX deliveries_due ON deliveries (webhook_id, next_at) WHERE status = 'pending';

-- The ids of deleted webhooks whose deliveries are yet to be pruned, in
-- batches (PruneDeliveries).
CREATE TABLE deleted_webhooks (id TEXT PRIMARY KEY);

-- The breaker's cooldowns in the current failing streak (each twice as
-- long as the one before), and the fan-out cursor, which starts at the
-- head of the log.
ALTER TABLE webhooks ADD COLUMN cooldowns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN fanout_cursor TEXT NOT NULL DEFAULT '0';
UPDATE webhooks SET fanout_cursor = (SELECT coalesce(max(seq), 0) FROM changes);
