-- Fenced leases (issue 15): every claim of a lane takes the next token, and whatever a worker
-- records about the lane (its deliveries, a dead letter, a renewal) must present the token of
-- its claim. A worker whose lease lapsed and was claimed again is refused: it cannot overwrite
-- or dead-letter what the new holder delivers.
ALTER TABLE lanes ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
