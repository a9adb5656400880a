-- Webhook endpoints (webhooks.md §2), as the SQLite backend's
-- 0010_webhooks.sql: where an environment's changes are delivered.
CREATE TABLE webhooks (
	id                   text COLLATE "C" PRIMARY KEY,
	environment_id       text COLLATE "C" NOT NULL REFERENCES environments (id),
	url                  text NOT NULL,
	topics               text[] NOT NULL, -- webhook.Topics, in order
	enabled              boolean NOT NULL,
	description          text CHECK (description <> ''), -- NULL for none
	-- The signing secret as webhook.Keyring stores it: whsec_…, or
	-- enc1:… when TOURD_SECRET_KEY encrypts it.
	secret               text NOT NULL,
	-- The circuit breaker's state, kept by deliveries: failed attempts in
	-- a row, until when deliveries wait, when the endpoint was disabled for
	-- failing, since when it fails without a success.
	consecutive_failures integer NOT NULL DEFAULT 0,
	cooldown_until       timestamptz,
	auto_disabled_at     timestamptz,
	failing_since        timestamptz,
	created_at           timestamptz NOT NULL
);
CREATE INDEX webhooks_list ON webhooks (environment_id, created_at, id);
