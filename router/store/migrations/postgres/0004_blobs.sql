-- Attachment content, when the store is PostgreSQL: any replica serves any file. A blob is
-- addressed by the SHA-256 of its content, as on disk; its bytes are split into chunks of at
-- most 1 MiB, so neither Put nor Open holds a whole file in memory. stored_at (Unix ms) is the
-- last Put of this content, which retention compares with before removing it.
CREATE TABLE blobs (
	sum       TEXT PRIMARY KEY,
	size      BIGINT NOT NULL,
	stored_at BIGINT NOT NULL
);
CREATE INDEX blobs_stored ON blobs (stored_at);

-- upload is the Put that wrote the chunk: a Put writes its chunks under an upload id of its
-- own before it knows the content's digest, then keeps them (sum set) or drops them (the
-- content was stored already), all in one transaction.
CREATE TABLE blob_chunks (
	upload TEXT NOT NULL,
	n      INTEGER NOT NULL,
	sum    TEXT,
	data   BYTEA NOT NULL,
	PRIMARY KEY (upload, n)
);
CREATE INDEX blob_chunks_sum ON blob_chunks (sum, n);
