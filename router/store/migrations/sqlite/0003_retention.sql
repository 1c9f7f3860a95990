-- Retention (issue 11). The attachment content each message references, by the blob store's
-- reference: content is stored once however many messages carry it, so before a file is
-- removed the store must tell whether any remaining message still references it. created_at is
-- the message's, for expiring attachments by age.
CREATE TABLE message_blobs (
    message_seq INTEGER NOT NULL,
    blob_ref    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (message_seq, blob_ref)
) WITHOUT ROWID;
CREATE INDEX message_blobs_ref ON message_blobs (blob_ref);
CREATE INDEX message_blobs_created ON message_blobs (created_at);

-- The messages stored before this migration. body is JSON text written as a blob; the cast
-- reads it as the text it is (a blob argument may be taken for SQLite's binary JSONB).
INSERT OR IGNORE INTO message_blobs (message_seq, blob_ref, created_at)
SELECT m.seq, json_extract(a.value, '$.blob_ref'), m.created_at
FROM messages m, json_each(CAST(m.body AS TEXT), '$.attachments') a
WHERE json_extract(a.value, '$.blob_ref') <> '';

-- Retention finds closed conversations in the order they went quiet.
CREATE INDEX conversations_closed ON conversations (updated_at) WHERE status = 'closed';
