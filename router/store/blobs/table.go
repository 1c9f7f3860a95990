package blobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// chunkSize is the most content one row of blob_chunks holds.
const chunkSize = 1 << 20

// quotaLockKey names the advisory lock that Puts on every replica take in turn to check the
// quota and place content.
const quotaLockKey = 0x6761746577617903 // "gateway" and a 3

// Table is a content-addressed blob store in the gateway's PostgreSQL database (the store's
// tables blobs and blob_chunks), so that every replica serves every attachment. It keeps
// Dir's rules: content over MaxBytes is refused, the total stays within the quota, identical
// content is kept and counted once, and Collect removes what no message references.
//
// A Put commits before it returns, in the same database as the message that will reference
// it; PostgreSQL makes the commit durable.
type Table struct {
	db       *sql.DB
	maxBytes int64
	quota    int64
	now      func() time.Time
	// refusals counts Puts refused, by reason (too_large, quota).
	refusals *prometheus.CounterVec
	// used is the last total read for gateway_attachments_bytes, shown again when a scrape's
	// read fails.
	used atomic.Int64
}

var _ connectors.Blobs = (*Table)(nil)

// usedReadTimeout bounds the query behind one scrape of gateway_attachments_bytes.
const usedReadTimeout = 5 * time.Second

// OpenTable returns the blob store in db, a PostgreSQL database the store has migrated, as
// opts say. Its metrics are the directory store's; the bytes stored are read from the
// database at each scrape, so each replica reports the total of all (Log is not used).
func OpenTable(db *sql.DB, opts Options) (*Table, error) {
	if opts.Quota < 0 {
		return nil, fmt.Errorf("blobs: quota of %d bytes is negative", opts.Quota)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := &Table{db: db, maxBytes: opts.MaxBytes, quota: opts.Quota, now: opts.Now, refusals: newRefusals()}
	if opts.Registerer != nil {
		if err := registerMetrics(opts.Registerer, t.refusals, t.scrapeUsed, t.quota); err != nil {
			return nil, fmt.Errorf("blobs: register metrics: %w", err)
		}
	}
	return t, nil
}

func (t *Table) scrapeUsed() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), usedReadTimeout)
	defer cancel()
	if used, err := t.Used(ctx); err == nil {
		t.used.Store(used)
	}
	return float64(t.used.Load())
}

// MaxBytes is the most Put stores.
func (t *Table) MaxBytes() int64 { return t.maxBytes }

// Put implements connectors.Blobs. The content goes into chunks under an upload id of this
// Put's while its digest is computed; then, under a lock that Puts on every replica share,
// the chunks are kept for new content within the quota, or dropped for content stored
// already (whose time is refreshed, which keeps it from Collect).
func (t *Table) Put(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	defer tx.Rollback()
	upload := rand.Text()
	h := sha256.New()
	src := io.LimitReader(r, t.maxBytes+1)
	buf := make([]byte, chunkSize)
	var n int64
	for i := 0; ; i++ {
		k, err := io.ReadFull(src, buf)
		if k > 0 {
			n += int64(k)
			if n > t.maxBytes {
				t.refusals.WithLabelValues(reasonTooLarge).Inc()
				return normalize.Attachment{}, fmt.Errorf("blobs: %q is over the limit of %d bytes: %w", name, t.maxBytes, connectors.ErrTooLarge)
			}
			h.Write(buf[:k])
			if _, err := tx.ExecContext(ctx, `INSERT INTO blob_chunks (upload, n, data) VALUES ($1, $2, $3)`, upload, i, buf[:k]); err != nil {
				return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(quotaLockKey)); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	now := t.now().UnixMilli()
	res, err := tx.ExecContext(ctx, `UPDATE blobs SET stored_at = GREATEST(stored_at, $2) WHERE sum = $1`, sum, now)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	if stored, _ := res.RowsAffected(); stored > 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM blob_chunks WHERE upload = $1`, upload)
	} else {
		err = t.place(ctx, tx, upload, sum, name, n, now)
	}
	if err == nil {
		err = tx.Commit()
	}
	if errors.Is(err, connectors.ErrQuota) {
		t.refusals.WithLabelValues(reasonQuota).Inc()
	}
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: n, SHA256: sum, BlobRef: "sha256:" + sum}, nil
}

// place keeps upload's chunks as the content sum of n bytes, within the quota.
func (t *Table) place(ctx context.Context, tx *sql.Tx, upload, sum, name string, n, now int64) error {
	if t.quota > 0 {
		var used int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM blobs`).Scan(&used); err != nil {
			return err
		}
		if used+n > t.quota {
			return fmt.Errorf("%d of %d bytes used: %w", used, t.quota, connectors.ErrQuota)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE blob_chunks SET sum = $2 WHERE upload = $1`, upload, sum); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO blobs (sum, size, stored_at) VALUES ($1, $2, $3)`, sum, n, now)
	return err
}

// Used is the size of the stored content, identical content counted once.
func (t *Table) Used(ctx context.Context) (int64, error) {
	var used int64
	if err := t.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM blobs`).Scan(&used); err != nil {
		return 0, fmt.Errorf("blobs: %w", err)
	}
	return used, nil
}

// Open implements connectors.Blobs: it reads the content a chunk at a time.
func (t *Table) Open(ctx context.Context, ref string) (io.ReadCloser, error) {
	if !refPattern.MatchString(ref) {
		return nil, fmt.Errorf("blobs: malformed reference %q", ref)
	}
	sum := ref[len("sha256:"):]
	var size int64
	err := t.db.QueryRowContext(ctx, `SELECT size FROM blobs WHERE sum = $1`, sum).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("blobs: %s: %w", ref, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", ref, err)
	}
	return &chunkReader{ctx: ctx, db: t.db, sum: sum, left: size}, nil
}

// chunkReader reads a blob's chunks in order, one query each.
type chunkReader struct {
	ctx  context.Context
	db   *sql.DB
	sum  string
	next int
	left int64 // bytes not yet read from the database
	buf  bytes.Reader
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.buf.Len() == 0 {
		if c.left == 0 {
			return 0, io.EOF
		}
		var data []byte
		err := c.db.QueryRowContext(c.ctx, `SELECT data FROM blob_chunks WHERE sum = $1 AND n = $2`, c.sum, c.next).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("blobs: sha256:%s: chunk %d is missing (removed while read?): %w", c.sum, c.next, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, fmt.Errorf("blobs: read sha256:%s: %w", c.sum, err)
		}
		c.next++
		c.left -= int64(len(data))
		c.buf.Reset(data)
	}
	return c.buf.Read(p)
}

func (c *chunkReader) Close() error { return nil }

// Collect removes the content that no message references and that no Put stored since
// before, as Dir.Collect does. A Put's chunks that never became content are rolled back with
// its transaction, so there is nothing else to clear.
func (t *Table) Collect(ctx context.Context, before time.Time, referenced Referenced) (Collected, error) {
	var out Collected
	after := ""
	for {
		rows, err := t.db.QueryContext(ctx, `SELECT sum FROM blobs WHERE stored_at < $1 AND sum > $2 ORDER BY sum LIMIT $3`,
			before.UnixMilli(), after, collectBatch)
		if err != nil {
			return out, fmt.Errorf("blobs: collect: %w", err)
		}
		var refs []string
		for rows.Next() {
			var sum string
			if err := rows.Scan(&sum); err != nil {
				rows.Close()
				return out, fmt.Errorf("blobs: collect: %w", err)
			}
			refs = append(refs, "sha256:"+sum)
			after = sum
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("blobs: collect: %w", err)
		}
		if len(refs) == 0 {
			return out, nil
		}
		used, err := referenced(ctx, refs)
		if err != nil {
			return out, fmt.Errorf("blobs: check references: %w", err)
		}
		for _, ref := range refs {
			if used[ref] {
				continue
			}
			n, err := t.remove(ctx, ref[len("sha256:"):], before)
			if err != nil {
				return out, fmt.Errorf("blobs: collect: %w", err)
			}
			if n >= 0 {
				out.Files++
				out.Bytes += n
			}
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
}

// remove deletes the content sum unless a Put stored it at or after before; it returns the
// bytes freed, or -1 when nothing was removed.
func (t *Table) remove(ctx context.Context, sum string, before time.Time) (int64, error) {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return -1, err
	}
	defer tx.Rollback()
	var size int64
	err = tx.QueryRowContext(ctx, `DELETE FROM blobs WHERE sum = $1 AND stored_at < $2 RETURNING size`, sum, before.UnixMilli()).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, nil // stored again since the listing, or removed by another replica
	}
	if err != nil {
		return -1, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM blob_chunks WHERE sum = $1`, sum); err != nil {
		return -1, err
	}
	return size, tx.Commit()
}
