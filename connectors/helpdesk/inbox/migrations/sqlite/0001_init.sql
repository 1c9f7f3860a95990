-- Agents who may sign in. from_config marks accounts that the configuration manages: they are
-- removed when the configuration drops them; accounts made by `gateway inbox-password` stay.
CREATE TABLE agents (
	name          TEXT PRIMARY KEY,
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	from_config   INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);

-- Signed-in browsers. Only the SHA-256 of the session token is kept, so a copy of the
-- database does not let anyone sign in.
CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	agent      TEXT NOT NULL REFERENCES agents (name) ON DELETE CASCADE ON UPDATE CASCADE,
	csrf_token TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- One row per conversation posted to this inbox; times are Unix milliseconds. Message content
-- stays in the gateway store. first_unanswered_at is the oldest player message no agent has
-- answered yet (NULL when nothing waits); answered_at is when waiting was last cleared (a
-- reply or closing), so a retried Post of an older message does not start the clock again.
CREATE TABLE tickets (
	conversation_id     TEXT PRIMARY KEY,
	channel             TEXT NOT NULL,
	channel_kind        TEXT NOT NULL,
	player_name         TEXT NOT NULL DEFAULT '',
	language            TEXT NOT NULL DEFAULT '',
	vip_tier            INTEGER NOT NULL DEFAULT 0,
	status              TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	status_at           INTEGER NOT NULL,
	created_at          INTEGER NOT NULL,
	last_player_at      INTEGER,
	first_unanswered_at INTEGER,
	answered_at         INTEGER,
	last_agent_at       INTEGER,
	updated_at          INTEGER NOT NULL
);
CREATE INDEX tickets_updated ON tickets (updated_at DESC);
CREATE INDEX tickets_status_updated ON tickets (status, updated_at DESC);
