-- Webhook endpoints (webhooks.md §2): where an environment's changes are
-- delivered. Times are microseconds since the epoch, as elsewhere.
CREATE TABLE webhooks (
	id                   TEXT PRIMARY KEY,
	environment_id       TEXT NOT NULL REFERENCES environments (id),
	url                  TEXT NOT NULL,
	topics               TEXT NOT NULL, -- a JSON array of strings (webhook.Topics)
	enabled              INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	description          TEXT CHECK (description <> ''), -- NULL for none
	-- The signing secret as webhook.Keyring stores it: whsec_…, or
	-- enc1:… when TOURD_SECRET_KEY encrypts it.
	secret               TEXT NOT NULL,
	-- The circuit breaker's state, kept by deliveries: failed attempts in
	-- a row, until when deliveries wait, when the endpoint was disabled for
	-- failing, since when it fails without a success.
	consecutive_failures INTEGER NOT NULL DEFAULT 0,
	cooldown_until       INTEGER,
	auto_disabled_at     INTEGER,
	failing_since        INTEGER,
	created_at           INTEGER NOT NULL
);
CREATE INDEX webhooks_list ON webhooks (environment_id, created_at, id);
