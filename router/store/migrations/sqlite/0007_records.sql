-- Connectors' keyed records (issues 14, 15): one row per key, so replicas writing different
-- keys never overwrite each other, each with an expiry (Unix ms) after which retention deletes
-- it. The voice channel keeps its voicemails' pieces here instead of one list in a cursor.
CREATE TABLE records (
    instance   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (instance, key)
) WITHOUT ROWID;
CREATE INDEX records_expires ON records (expires_at);

-- The e-mail channel's notices sent and the voice channel's calls that left a message were
-- one cursor row each, never deleted: they become records that expire 30 days after they
-- were written.
INSERT INTO records (instance, key, value, expires_at, updated_at)
    SELECT instance, key, value, updated_at + 2592000000, updated_at FROM cursors
    WHERE (substr(key, 1, 7) = 'notice:' OR substr(key, 1, 8) = 'handled:') AND value <> '';
DELETE FROM cursors WHERE substr(key, 1, 7) = 'notice:' OR substr(key, 1, 8) = 'handled:';
