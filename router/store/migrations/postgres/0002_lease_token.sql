-- Fenced leases (issue 15); see SQLite's 0005_lease_token.sql.
ALTER TABLE lanes ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
