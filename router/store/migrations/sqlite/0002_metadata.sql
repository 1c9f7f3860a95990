-- The first-response clock of a conversation (normalize.SLA), in Unix milliseconds: NULL
-- awaiting_since means no player message waits for an answer.
ALTER TABLE conversations ADD COLUMN awaiting_since INTEGER;
ALTER TABLE conversations ADD COLUMN sla_due_at INTEGER;
ALTER TABLE conversations ADD COLUMN sla_breached_at INTEGER;
-- The agent the helpdesk assigned the conversation to, as normalize.Agent JSON; '' for none.
ALTER TABLE conversations ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
-- The SLA watch looks for clocks that ran out and were not reported yet.
CREATE INDEX conversations_sla_due ON conversations (sla_due_at) WHERE sla_due_at IS NOT NULL AND sla_breached_at IS NULL;

-- Connectors' durable cursors (connectors.Cursors).
CREATE TABLE cursors (
    instance   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (instance, key)
) WITHOUT ROWID;
