-- The SQLite file's migration 0004 (see migrations/sqlite): the casino's player ID of each
-- conversation and what proved it, for the thread's other conversations and the list's filter.
ALTER TABLE tickets ADD COLUMN player_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN linked_by TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_player_updated ON tickets (player_id, updated_at DESC);
