-- The inbox's tables in the gateway's PostgreSQL database, where every replica finds the same
-- agents, sessions and tickets. They are the SQLite file's tables after its migration 0003,
-- with the same columns and meanings (see migrations/sqlite): times are Unix milliseconds in
-- BIGINT, flags INTEGER 0/1, so one set of queries reads both.
CREATE TABLE agents (
	name          TEXT PRIMARY KEY,
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	from_config   INTEGER NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	admin         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	agent      TEXT NOT NULL REFERENCES agents (name) ON DELETE CASCADE ON UPDATE CASCADE,
	csrf_token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_agent ON sessions (agent);

CREATE TABLE tickets (
	conversation_id     TEXT PRIMARY KEY,
	channel             TEXT NOT NULL,
	channel_kind        TEXT NOT NULL,
	player_name         TEXT NOT NULL DEFAULT '',
	language            TEXT NOT NULL DEFAULT '',
	vip_tier            INTEGER NOT NULL DEFAULT 0,
	status              TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	status_at           BIGINT NOT NULL,
	created_at          BIGINT NOT NULL,
	last_player_at      BIGINT,
	first_unanswered_at BIGINT,
	answered_at         BIGINT,
	last_agent_at       BIGINT,
	updated_at          BIGINT NOT NULL,
	preview             TEXT NOT NULL DEFAULT '',
	preview_from        TEXT NOT NULL DEFAULT '',
	preview_by          TEXT NOT NULL DEFAULT '',
	preview_at          BIGINT,
	player_key          TEXT NOT NULL DEFAULT '',
	preview_key         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tickets_updated ON tickets (updated_at DESC);
CREATE INDEX tickets_status_updated ON tickets (status, updated_at DESC);
CREATE INDEX tickets_channel_updated ON tickets (channel, updated_at DESC);
