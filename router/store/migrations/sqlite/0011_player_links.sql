-- The player's conversations across channels (issue 17): one row per conversation whose player
-- is identified (the directory, a signed web chat token, a signed Telegram deep link), so the
-- router can list a player's other conversations with one indexed read. A conversation has one
-- player; a corrected ID moves its row. linked_by says what proved the ID.
CREATE TABLE player_links (
    conversation_id TEXT PRIMARY KEY,
    player_id       TEXT NOT NULL,
    linked_by       TEXT NOT NULL DEFAULT '',
    linked_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX player_links_player ON player_links (player_id, linked_at);

-- Conversations identified before the table existed.
INSERT INTO player_links (conversation_id, player_id, linked_by, linked_at)
    SELECT id, json_extract(player, '$.player_id'), COALESCE(json_extract(player, '$.player_id_by'), ''), created_at
    FROM conversations WHERE COALESCE(json_extract(player, '$.player_id'), '') <> '';
