-- Conversations: one per (channel instance, channel-side address).
CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    channel_kind TEXT NOT NULL,
    address      TEXT NOT NULL,
    helpdesk     TEXT NOT NULL,
    ticket       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    priority     TEXT NOT NULL,
    language     TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '[]',
    player       TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (channel, address)
);
CREATE INDEX conversations_ticket ON conversations (helpdesk, ticket) WHERE ticket <> '';
CREATE INDEX conversations_awaiting_ticket ON conversations (helpdesk) WHERE ticket = '';
CREATE INDEX conversations_updated ON conversations (updated_at);

-- Messages in both directions. state is the normalize.DeliveryState towards the other side:
-- queued rows are the outbox, failed rows are dead letters.
CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    direction       TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    target_id       TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX messages_outbox ON messages (conversation_id, direction, seq) WHERE state = 'queued';
CREATE INDEX messages_dead ON messages (seq) WHERE state = 'failed';
CREATE INDEX messages_conversation ON messages (conversation_id, seq);

-- Every ID a remote instance knows a message by: the source's ID (dedup of intake) and the
-- target's ID (echo suppression when the target reports our own message back).
CREATE TABLE external_ids (
    instance    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    PRIMARY KEY (instance, external_id)
) WITHOUT ROWID;

-- One delivery lane per conversation and direction: the per-conversation outbox head.
-- due_at is NULL when nothing is pending; a lease marks the lane as being delivered.
CREATE TABLE lanes (
    conversation_id TEXT NOT NULL,
    direction       TEXT NOT NULL,
    due_at          INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, direction)
) WITHOUT ROWID;
CREATE INDEX lanes_due ON lanes (due_at) WHERE due_at IS NOT NULL;
