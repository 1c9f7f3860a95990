-- The casino's player ID of each conversation (issue 17), when the gateway identified the
-- player, and what proved it (directory, webchat_token, telegram_link): the thread lists the
-- player's other conversations and the list filters by it. Rows posted before this migration
-- get it with their next message, which carries the conversation's player.
ALTER TABLE tickets ADD COLUMN player_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN linked_by TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_player_updated ON tickets (player_id, updated_at DESC);
