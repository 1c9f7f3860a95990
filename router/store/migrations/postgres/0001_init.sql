-- The schema of SQLite's migrations 0001 to 0004, in PostgreSQL's terms; see those files for
-- what each table is for. Times are Unix milliseconds (BIGINT), as on SQLite, so the shared
-- queries compare and store them alike. IDs sort bytewise (COLLATE "C"), as SQLite sorts
-- them, whatever the database's locale: pages use them to break ties.

CREATE TABLE conversations (
    id              TEXT COLLATE "C" PRIMARY KEY,
    channel         TEXT NOT NULL,
    channel_kind    TEXT NOT NULL,
    address         TEXT NOT NULL,
    helpdesk        TEXT NOT NULL,
    ticket          TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    priority        TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '[]',
    player          TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    awaiting_since  BIGINT,
    sla_due_at      BIGINT,
    sla_breached_at BIGINT,
    assignee        TEXT NOT NULL DEFAULT '',
    UNIQUE (channel, address)
);
CREATE INDEX conversations_ticket ON conversations (helpdesk, ticket) WHERE ticket <> '';
CREATE INDEX conversations_awaiting_ticket ON conversations (helpdesk) WHERE ticket = '';
CREATE INDEX conversations_updated ON conversations (updated_at);
CREATE INDEX conversations_sla_due ON conversations (sla_due_at) WHERE sla_due_at IS NOT NULL AND sla_breached_at IS NULL;
CREATE INDEX conversations_closed ON conversations (updated_at) WHERE status = 'closed';

-- body is the normalize.Message as JSON text; the store alone reads it.
CREATE TABLE messages (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT COLLATE "C" NOT NULL UNIQUE,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    direction       TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    target_id       TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX messages_outbox ON messages (conversation_id, direction, seq) WHERE state = 'queued';
CREATE INDEX messages_dead ON messages (seq) WHERE state = 'failed';
CREATE INDEX messages_conversation ON messages (conversation_id, seq);

CREATE TABLE external_ids (
    instance    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    message_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (instance, external_id)
);

CREATE TABLE lanes (
    conversation_id TEXT COLLATE "C" NOT NULL,
    direction       TEXT NOT NULL,
    due_at          BIGINT,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, direction)
);
CREATE INDEX lanes_due ON lanes (due_at) WHERE due_at IS NOT NULL;

CREATE TABLE cursors (
    instance   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (instance, key)
);

CREATE TABLE message_blobs (
    message_seq BIGINT NOT NULL,
    blob_ref    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (message_seq, blob_ref)
);
CREATE INDEX message_blobs_ref ON message_blobs (blob_ref);
CREATE INDEX message_blobs_created ON message_blobs (created_at);

CREATE TABLE forget (
    helpdesk        TEXT NOT NULL,
    conversation_id TEXT COLLATE "C" NOT NULL,
    due_at          BIGINT NOT NULL,
    PRIMARY KEY (helpdesk, conversation_id)
);
CREATE INDEX forget_due ON forget (due_at);
