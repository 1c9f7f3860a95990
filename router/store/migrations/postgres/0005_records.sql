-- Connectors' keyed records (issues 14, 15); see SQLite's 0007_records.sql.
CREATE TABLE records (
    instance   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (instance, key)
);
CREATE INDEX records_expires ON records (expires_at);

INSERT INTO records (instance, key, value, expires_at, updated_at)
    SELECT instance, key, value, updated_at + 2592000000, updated_at FROM cursors
    WHERE (substr(key, 1, 7) = 'notice:' OR substr(key, 1, 8) = 'handled:') AND value <> '';
DELETE FROM cursors WHERE substr(key, 1, 7) = 'notice:' OR substr(key, 1, 8) = 'handled:';
