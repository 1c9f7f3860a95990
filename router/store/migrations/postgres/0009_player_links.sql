-- The player's conversations across channels (issue 17); see SQLite's 0011_player_links.sql.
CREATE TABLE player_links (
    conversation_id TEXT PRIMARY KEY,
    player_id       TEXT NOT NULL,
    linked_by       TEXT NOT NULL DEFAULT '',
    linked_at       BIGINT NOT NULL
);
CREATE INDEX player_links_player ON player_links (player_id, linked_at);

INSERT INTO player_links (conversation_id, player_id, linked_by, linked_at)
    SELECT id, player::jsonb ->> 'player_id', COALESCE(player::jsonb ->> 'player_id_by', ''), created_at
    FROM conversations WHERE COALESCE(player::jsonb ->> 'player_id', '') <> '';
