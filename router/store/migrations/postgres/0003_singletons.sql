-- Singleton leases (issue 15); see SQLite's 0006_singletons.sql.
CREATE TABLE singletons (
    key         TEXT PRIMARY KEY,
    owner       TEXT NOT NULL DEFAULT '',
    token       BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0
);
