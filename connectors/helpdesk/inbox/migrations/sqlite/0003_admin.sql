-- Admin agents may open the inbox's admin pages (pairing channels). The configuration's
-- admin setting decides for configured agents; the account the first start created ("admin",
-- not from the configuration) is one, as it was the only account then.
ALTER TABLE agents ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
UPDATE agents SET admin = 1 WHERE name = 'admin' AND from_config = 0;
