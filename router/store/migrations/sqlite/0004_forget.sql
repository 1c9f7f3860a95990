-- What retention still owes the helpdesks (issue 11): a purged conversation's helpdesk may
-- keep something of it in the gateway's care (the built-in inbox's ticket row: the player's
-- name, the last message's first line). The purge records the conversation here in its own
-- transaction, so a crash between the purge and the helpdesk's forgetting loses nothing; the
-- retention runner hands due rows to the helpdesk and deletes them once it confirmed. due_at
-- (Unix ms) moves on after a failure, to the next pass.
CREATE TABLE forget (
    helpdesk        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    PRIMARY KEY (helpdesk, conversation_id)
) WITHOUT ROWID;
CREATE INDEX forget_due ON forget (due_at);
