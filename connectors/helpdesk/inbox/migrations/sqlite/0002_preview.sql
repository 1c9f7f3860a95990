-- What the conversation list shows of each conversation's last message, and what its search
-- matches. preview is the message's first line, cleaned and shortened; preview_from is who
-- wrote it (player, agent or note) and preview_by the agent's name; preview_at (Unix ms) is
-- when the gateway received it, so a retried older message never replaces a newer one.
-- preview_at stays NULL until someone wrote something: the list shows no conversation
-- without a message. player_key and preview_key are player_name and preview in lower case
-- (Go's, which folds every script; SQLite's lower() and LIKE fold ASCII only).
ALTER TABLE tickets ADD COLUMN preview TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN preview_from TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN preview_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN preview_at INTEGER;
ALTER TABLE tickets ADD COLUMN player_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN preview_key TEXT NOT NULL DEFAULT '';
-- Every earlier row came from a Post with messages: it stays listed, and gets its preview
-- with its next message. Names outside ASCII are found once that message rewrites the key.
UPDATE tickets SET preview_at = COALESCE(last_player_at, created_at), player_key = lower(player_name);
CREATE INDEX tickets_channel_updated ON tickets (channel, updated_at DESC);
