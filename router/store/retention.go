package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Purged is what one retention step deleted.
type Purged struct {
	Conversations int
	Messages      int
	// Attachments counts the references to attachment content dropped: those of the deleted
	// messages, or of the messages whose attachments expired. The content itself is the blob
	// store's, removed once no remaining message references it (ReferencedBlobs).
	Attachments int
}

// purgeBudget bounds the messages one PurgeConversations deletes: the deletion shares its
// transaction with intake, which must not wait long. A conversation is deleted whole, so one
// larger than the budget goes alone.
const purgeBudget = 1000

// PurgeConversations deletes up to limit closed conversations in which nothing happened for
// olderThan (no change, no message), with their messages, lanes, the external IDs of their
// messages and their references to attachment content, oldest first, in one transaction. The
// same transaction records, for each, that its helpdesk must forget it, due now (DueForgets). A
// conversation with anything undelivered (queued, or a dead letter an operator may replay)
// or being delivered is kept, whatever its age. olderThan <= 0 deletes nothing: it means keep
// forever. Replicas may call it concurrently.
func (s *Store) PurgeConversations(ctx context.Context, olderThan time.Duration, limit int) (Purged, error) {
	var out Purged
	if olderThan <= 0 || limit <= 0 {
		return out, nil
	}
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = Purged{}
		now := millis(s.now())
		cutoff := now - olderThan.Milliseconds()
		// status is a literal so that the partial index conversations_closed serves the query.
		rows, err := tx.QueryContext(ctx, `SELECT c.id FROM conversations c
			WHERE c.status = 'closed' AND c.updated_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND (m.state IN ('queued', 'failed') OR m.created_at >= ?))
			AND NOT EXISTS (SELECT 1 FROM lanes l WHERE l.conversation_id = c.id AND (l.due_at IS NOT NULL OR l.lease_until > ?))
			ORDER BY c.updated_at LIMIT ?`, cutoff, cutoff, now, limit)
		if err != nil {
			return fmt.Errorf("store: find conversations to purge: %w", err)
		}
		ids, err := scanIDs(rows)
		if err != nil {
			return fmt.Errorf("store: find conversations to purge: %w", err)
		}
		for _, id := range ids {
			if out.Messages >= purgeBudget {
				break
			}
			if err := purgeConversation(ctx, tx, id, now, &out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Purged{}, err
	}
	return out, nil
}

// purgeConversation deletes conversation id and everything of it, records that its helpdesk
// must forget it (due at now), and adds what it deleted to out.
func purgeConversation(ctx context.Context, tx *wtx, id normalize.ConversationID, now int64, out *Purged) error {
	var channel, helpdesk normalize.InstanceName
	if err := tx.QueryRowContext(ctx, `SELECT channel, helpdesk FROM conversations WHERE id = ?`, id).Scan(&channel, &helpdesk); err != nil {
		return fmt.Errorf("store: purge %s: %w", id, err)
	}
	// Recorded whether or not the helpdesk keeps anything: which helpdesks do is the router's
	// knowledge, and it drops the records of those that keep nothing.
	if helpdesk != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO forget (helpdesk, conversation_id, due_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			helpdesk, id, now); err != nil {
			return fmt.Errorf("store: purge %s: record that %s must forget it: %w", id, helpdesk, err)
		}
	}
	// external_ids is keyed by (instance, external ID): each message's keys are its source's
	// and the target's IDs, the target being the helpdesk for inbound and the channel for
	// outbound messages. Deleting by key avoids an index on message_id that intake would pay for.
	rows, err := tx.QueryContext(ctx, `SELECT seq, id, direction, target_id, body FROM messages WHERE conversation_id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: purge %s: read messages: %w", id, err)
	}
	type key struct {
		instance normalize.InstanceName
		ext      normalize.ExternalID
		msg      normalize.MessageID
	}
	var keys []key
	var seqs []int64
	for rows.Next() {
		var seq int64
		var msg normalize.MessageID
		var dir normalize.Direction
		var target normalize.ExternalID
		var body []byte
		if err := rows.Scan(&seq, &msg, &dir, &target, &body); err != nil {
			rows.Close()
			return fmt.Errorf("store: purge %s: read messages: %w", id, err)
		}
		var src struct {
			Source     normalize.InstanceName `json:"source"`
			ExternalID normalize.ExternalID   `json:"external_id"`
		}
		if err := decodeStored(body, &src); err != nil {
			rows.Close()
			return fmt.Errorf("store: purge %s: decode message %d: %w", id, seq, err)
		}
		seqs = append(seqs, seq)
		keys = append(keys, key{src.Source, src.ExternalID, msg})
		if target != "" {
			targetInstance := helpdesk
			if dir == normalize.Outbound {
				targetInstance = channel
			}
			keys = append(keys, key{targetInstance, target, msg})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: purge %s: read messages: %w", id, err)
	}
	for _, k := range keys {
		// The message ID is checked too: a key is only ever this message's, but a wrong
		// guess of the target instance must not delete another message's key.
		if _, err := tx.ExecContext(ctx, `DELETE FROM external_ids WHERE instance = ? AND external_id = ? AND message_id = ?`,
			k.instance, k.ext, k.msg); err != nil {
			return fmt.Errorf("store: purge %s: delete external IDs: %w", id, err)
		}
	}
	for _, seq := range seqs {
		res, err := tx.ExecContext(ctx, `DELETE FROM message_blobs WHERE message_seq = ?`, seq)
		if err != nil {
			return fmt.Errorf("store: purge %s: delete attachment references: %w", id, err)
		}
		n, _ := res.RowsAffected()
		out.Attachments += int(n)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: purge %s: delete messages: %w", id, err)
	}
	n, _ := res.RowsAffected()
	out.Messages += int(n)
	if _, err := tx.ExecContext(ctx, `DELETE FROM lanes WHERE conversation_id = ?`, id); err != nil {
		return fmt.Errorf("store: purge %s: delete lanes: %w", id, err)
	}
	if err := unlinkPlayer(ctx, tx, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: purge %s: %w", id, err)
	}
	out.Conversations++
	return nil
}

// Forget is a purged conversation whose helpdesk has yet to confirm that it forgot it.
type Forget struct {
	Helpdesk     normalize.InstanceName
	Conversation normalize.ConversationID
	// Due is when the conversation is to be handed to the helpdesk: when it was purged, or
	// when a failed attempt said to try again.
	Due time.Time
}

// DueForgets returns up to limit records due by now, the earliest due first. It only reads:
// records stay until DropForgets, so replicas may hand the same ones over (Forget is
// idempotent).
func (s *Store) DueForgets(ctx context.Context, limit int) ([]Forget, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT helpdesk, conversation_id, due_at FROM forget WHERE due_at <= ?
		ORDER BY due_at, helpdesk, conversation_id LIMIT ?`, millis(s.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("store: find what helpdesks must forget: %w", err)
	}
	defer rows.Close()
	var out []Forget
	for rows.Next() {
		var f Forget
		var due int64
		if err := rows.Scan(&f.Helpdesk, &f.Conversation, &due); err != nil {
			return nil, fmt.Errorf("store: find what helpdesks must forget: %w", err)
		}
		f.Due = fromMillis(due)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: find what helpdesks must forget: %w", err)
	}
	return out, nil
}

// DropForgets deletes the records of recs (by helpdesk and conversation; Due is ignored), in
// one transaction: their helpdesk forgot them, or keeps nothing. Records that do not exist
// (dropped already, by another replica) are no error.
func (s *Store) DropForgets(ctx context.Context, recs []Forget) error {
	if len(recs) == 0 {
		return nil
	}
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		for _, f := range recs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM forget WHERE helpdesk = ? AND conversation_id = ?`, f.Helpdesk, f.Conversation); err != nil {
				return fmt.Errorf("store: drop what %s forgot: %w", f.Helpdesk, err)
			}
		}
		return nil
	})
}

// DelayForgets makes the records of recs due at until, in one transaction: their helpdesk
// failed to forget them, and is asked again then. Records that do not exist are no error.
func (s *Store) DelayForgets(ctx context.Context, recs []Forget, until time.Time) error {
	if len(recs) == 0 {
		return nil
	}
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		for _, f := range recs {
			if _, err := tx.ExecContext(ctx, `UPDATE forget SET due_at = ? WHERE helpdesk = ? AND conversation_id = ?`,
				millis(until), f.Helpdesk, f.Conversation); err != nil {
				return fmt.Errorf("store: delay what %s must forget: %w", f.Helpdesk, err)
			}
		}
		return nil
	})
}

// ExpireAttachments drops up to limit references to attachment content of messages stored
// more than olderThan ago, oldest first, in one transaction; the messages stay. Messages not
// delivered yet (queued, or dead letters an operator may replay) keep theirs. Content that
// another, newer message carries stays referenced by that one. olderThan <= 0 drops nothing.
func (s *Store) ExpireAttachments(ctx context.Context, olderThan time.Duration, limit int) (Purged, error) {
	var out Purged
	if olderThan <= 0 || limit <= 0 {
		return out, nil
	}
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = Purged{}
		cutoff := millis(s.now()) - olderThan.Milliseconds()
		rows, err := tx.QueryContext(ctx, `SELECT b.message_seq, b.blob_ref FROM message_blobs b JOIN messages m ON m.seq = b.message_seq
			WHERE b.created_at < ? AND m.state NOT IN ('queued', 'failed') ORDER BY b.created_at LIMIT ?`, cutoff, limit)
		if err != nil {
			return fmt.Errorf("store: find attachments to expire: %w", err)
		}
		type ref struct {
			seq  int64
			blob string
		}
		var refs []ref
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.seq, &r.blob); err != nil {
				rows.Close()
				return fmt.Errorf("store: find attachments to expire: %w", err)
			}
			refs = append(refs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: find attachments to expire: %w", err)
		}
		for _, r := range refs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_blobs WHERE message_seq = ? AND blob_ref = ?`, r.seq, r.blob); err != nil {
				return fmt.Errorf("store: expire attachment of message %d: %w", r.seq, err)
			}
		}
		out.Attachments = len(refs)
		return nil
	})
	if err != nil {
		return Purged{}, err
	}
	return out, nil
}

// referencedChunk bounds the references asked about in one query.
const referencedChunk = 500

// ReferencedBlobs reports which of refs (blob store references) a stored message still
// references; an attachment that expired references nothing.
func (s *Store) ReferencedBlobs(ctx context.Context, refs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(refs))
	for start := 0; start < len(refs); start += referencedChunk {
		chunk := refs[start:min(start+referencedChunk, len(refs))]
		args := make([]any, len(chunk))
		for i, r := range chunk {
			args[i] = r
		}
		rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT blob_ref FROM message_blobs WHERE blob_ref IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: check attachment references: %w", err)
		}
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: check attachment references: %w", err)
			}
			out[r] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: check attachment references: %w", err)
		}
	}
	return out, nil
}

// recordBlobs records the attachment content message m, just inserted as seq, references.
func recordBlobs(ctx context.Context, tx *wtx, seq int64, m normalize.Message, now int64) error {
	for _, a := range m.Attachments {
		if a.BlobRef == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_blobs (message_seq, blob_ref, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			seq, a.BlobRef, now); err != nil {
			return fmt.Errorf("store: record attachment of %s: %w", m.ID, err)
		}
	}
	return nil
}

// scanIDs reads a column of conversation IDs and closes rows.
func scanIDs(rows *sql.Rows) ([]normalize.ConversationID, error) {
	defer rows.Close()
	var ids []normalize.ConversationID
	for rows.Next() {
		var id normalize.ConversationID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
