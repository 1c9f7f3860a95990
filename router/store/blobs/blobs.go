// Package blobs stores attachment content on local disk, addressed by its SHA-256: the same
// KYC document sent twice is kept once, and a reference can be checked against its content.
// It keeps the total within a quota, and removes content no message references any more.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Dir is a content-addressed blob store in a directory.
//
// A Put returns only once the content and the directory entries leading to it are on disk:
// the caller commits a message that points at the blob (SQLite with synchronous=FULL), and
// that message must not outlive the file across a power failure. A renamed file is durable
// only once its directory is fsynced, and a new directory only once its parent is.
type Dir struct {
	root     string
	maxBytes int64
	quota    int64
	now      func() time.Time
	log      *slog.Logger
	// syncDir makes a directory's entries durable; tests replace it to see that Put calls it
	// and to make it fail.
	syncDir func(path string) error
	// refusals counts Puts refused, by reason (too_large, quota).
	refusals *prometheus.CounterVec

	mu sync.Mutex
	// rooted holds the fan-out directories whose entry in root this Dir has synced. It starts
	// empty, so a directory an earlier process made (perhaps crashing before its sync) is
	// synced into root once more before the first file goes into it.
	rooted map[string]bool
	// used is the size of the stored content, counted at start and kept by Put and Collect
	// under mu, so that a Put checks the quota without walking the directory.
	used int64
	// full is set when a Put is refused for the quota and cleared once content is stored or
	// removed: the refusal is logged once per time the storage fills, not once per upload.
	full bool
}

// Options tune a Dir.
type Options struct {
	// MaxBytes is the most one Put stores.
	MaxBytes int64
	// Quota caps the total size of the stored content; 0 sets no cap. Identical content is
	// stored, and counted, once.
	Quota int64
	// Now stamps each stored file with the time of its last Put, which Collect compares with;
	// nil is time.Now. Tests pass the fake clock the store reads.
	Now func() time.Time
	// Registerer, when set, receives the metrics gateway_attachments_bytes,
	// gateway_attachments_quota_bytes and gateway_attachment_refusals_total.
	Registerer prometheus.Registerer
	// Log hears when the quota is reached; nil discards.
	Log *slog.Logger
}

var _ connectors.Blobs = (*Dir)(nil)

// refPattern is what a reference looks like: the digest and nothing that could leave root.
var refPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// New returns a store in root that refuses content over maxBytes, with no quota.
func New(root string, maxBytes int64) (*Dir, error) {
	return open(root, Options{MaxBytes: maxBytes}, syncDir)
}

// Open returns a store in root as opts say. It counts the content already stored, so the
// quota holds across restarts.
func Open(root string, opts Options) (*Dir, error) {
	return open(root, opts, syncDir)
}

func newDir(root string, maxBytes int64, sync func(path string) error) (*Dir, error) {
	return open(root, Options{MaxBytes: maxBytes}, sync)
}

func open(root string, opts Options, sync func(path string) error) (*Dir, error) {
	if opts.Quota < 0 {
		return nil, fmt.Errorf("blobs: quota of %d bytes is negative", opts.Quota)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	root = filepath.Clean(root)
	// A root made here would vanish with every blob in it if its own entry were lost, so the
	// directories that gain a new entry, from root's parent up to the first that already
	// existed, are synced.
	existing := root
	for {
		if _, err := os.Stat(existing); !errors.Is(err, os.ErrNotExist) {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", root, err)
	}
	if existing != root {
		for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
			if err := sync(dir); err != nil {
				return nil, fmt.Errorf("blobs: create %s: %w", root, err)
			}
			if dir == existing || dir == filepath.Dir(dir) {
				break
			}
		}
	}
	d := &Dir{root: root, maxBytes: opts.MaxBytes, quota: opts.Quota, now: opts.Now, log: opts.Log, syncDir: sync,
		rooted: map[string]bool{}, refusals: newRefusals()}
	// Counting once at start keeps each Put cheap; identical content is one file, counted once.
	err := d.walk(func(_ string, info os.FileInfo) error {
		d.used += info.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: count what %s holds: %w", root, err)
	}
	if opts.Registerer != nil {
		if err := d.register(opts.Registerer); err != nil {
			return nil, fmt.Errorf("blobs: register metrics: %w", err)
		}
	}
	return d, nil
}

func (d *Dir) register(reg prometheus.Registerer) error {
	return registerMetrics(reg, d.refusals, func() float64 { return float64(d.Used()) }, d.quota)
}

func newRefusals() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_attachment_refusals_total",
		Help: "Attachments the blob store refused, by reason (too_large: over attachments.max_bytes; quota: the storage is full)."},
		[]string{"reason"})
}

// registerMetrics registers the metrics of either store: refusals, used (read at each
// scrape) and the quota.
func registerMetrics(reg prometheus.Registerer, refusals *prometheus.CounterVec, used func() float64, quota int64) error {
	for _, c := range []prometheus.Collector{
		refusals,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_attachments_bytes",
			Help: "Bytes of attachment content stored, identical content counted once."}, used),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_attachments_quota_bytes",
			Help: "The attachment storage's quota (attachments.quota_bytes); 0 is none."}, func() float64 { return float64(quota) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	// Both reasons are shown from the start, so an alert on their rate has a series to read.
	refusals.WithLabelValues(reasonTooLarge)
	refusals.WithLabelValues(reasonQuota)
	return nil
}

// Reasons of gateway_attachment_refusals_total.
const (
	reasonTooLarge = "too_large"
	reasonQuota    = "quota"
)

// syncDir is the real Dir.syncDir.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}

// Put implements connectors.Blobs. Content that would take the store over its quota is
// refused with an error wrapping connectors.ErrQuota, unless identical content is stored
// already: that takes no more room. The content is read (up to MaxBytes) before the quota is
// checked, as only its digest tells whether it is stored already.
func (d *Dir) Put(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, d.maxBytes+1))
	if err == nil && n > d.maxBytes {
		err = fmt.Errorf("blobs: %q is over the limit of %d bytes: %w", name, d.maxBytes, connectors.ErrTooLarge)
	}
	if errors.Is(err, connectors.ErrTooLarge) {
		d.refusals.WithLabelValues(reasonTooLarge).Inc()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The file's time is when this content was last stored: Collect leaves content alone
		// that a Put stored lately, as a message referencing it may be about to commit.
		now := d.now()
		err = os.Chtimes(tmp.Name(), now, now)
	}
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := d.path(sum)
	fanOut := filepath.Dir(final)
	if err := d.makeFanOut(fanOut); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	if err := d.place(tmp.Name(), final, name, n); err != nil {
		return normalize.Attachment{}, err
	}
	// A failed sync leaves the renamed file in place: removing it could delete the copy that
	// an earlier or concurrent Put of the same content already reported durable.
	if err := d.syncDir(fanOut); err != nil {
		return normalize.Attachment{}, fmt.Errorf("blobs: store %q: %w", name, err)
	}
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: n, SHA256: sum, BlobRef: "sha256:" + sum}, nil
}

// place renames the temporary file of n bytes to final within the quota. Identical content is
// renamed over the existing file rather than skipped, so a Put never trusts a file it finds:
// the one a Put left behind when its directory sync failed is synced again before anyone is
// told it is stored. It also refreshes the file's time, which keeps it from Collect. The
// check, the rename and the count happen under mu, so concurrent Puts of the same content
// count it once and Collect never removes a file between a Put's check and its rename.
func (d *Dir) place(tmp, final, name string, n int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var old int64
	info, err := os.Stat(final)
	switch {
	case err == nil:
		old = info.Size()
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("blobs: store %q: %w", name, err)
	}
	if err != nil && d.quota > 0 && d.used+n > d.quota {
		return d.refuseQuotaLocked(name, n)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("blobs: store %q: %w", name, err)
	}
	d.used += n - old
	d.full = false
	return nil
}

// refuseQuotaLocked counts and returns the refusal of content of n bytes for the quota.
func (d *Dir) refuseQuotaLocked(name string, n int64) error {
	d.refusals.WithLabelValues(reasonQuota).Inc()
	if !d.full {
		d.full = true
		d.log.Warn("attachment storage is full: attachments are refused until retention or an operator frees room, or attachments.quota_bytes is raised",
			"used_bytes", d.used, "quota_bytes", d.quota, "refused_bytes", n, "dir", d.root)
	}
	return fmt.Errorf("blobs: store %q: %d of %d bytes used: %w", name, d.used, d.quota, connectors.ErrQuota)
}

// Used is the size of the stored content, identical content counted once.
func (d *Dir) Used() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}

// MaxBytes is the most Put stores: a connector can refuse a file whose size it knows before
// it downloads it.
func (d *Dir) MaxBytes() int64 { return d.maxBytes }

// Open implements connectors.Blobs.
func (d *Dir) Open(ctx context.Context, ref string) (io.ReadCloser, error) {
	if !refPattern.MatchString(ref) {
		return nil, fmt.Errorf("blobs: malformed reference %q", ref)
	}
	f, err := os.Open(d.path(ref[len("sha256:"):]))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blobs: %s: %w", ref, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", ref, err)
	}
	return f, nil
}

// makeFanOut creates dir, a fan-out directory under root, and makes its entry in root durable
// unless this Dir already has.
func (d *Dir) makeFanOut(dir string) error {
	d.mu.Lock()
	done := d.rooted[dir]
	d.mu.Unlock()
	if done {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	// Concurrent Puts may both sync root here; that is harmless, and holding mu across the
	// fsync would make every other Put wait on it.
	if err := d.syncDir(d.root); err != nil {
		return fmt.Errorf("record %s in %s: %w", filepath.Base(dir), d.root, err)
	}
	d.mu.Lock()
	d.rooted[dir] = true
	d.mu.Unlock()
	return nil
}

func (d *Dir) path(sum string) string { return filepath.Join(d.root, sum[:2], sum) }

// Referenced reports which of refs ("sha256:<hex>", as Put returns them) a stored message
// still references.
type Referenced func(ctx context.Context, refs []string) (map[string]bool, error)

// Collected is what Collect removed.
type Collected struct {
	Files int
	Bytes int64
}

// collectBatch is how many references Collect asks about at once.
const collectBatch = 256

// Collect removes the content that no message references and that no Put stored since
// before, and the temporary files of Puts a crash cut short, older than before too. The
// caller picks before far enough back that a message has committed by then if its attachment
// was stored after it: a Put comes before the message that references it, and refreshes the
// time of identical content, so content being sent again is never removed under a message
// about to reference it. Content is removed only once it is old enough and unreferenced both,
// which also clears what a Put stored for a message that was never accepted.
func (d *Dir) Collect(ctx context.Context, before time.Time, referenced Referenced) (Collected, error) {
	var out Collected
	batch := make([]string, 0, collectBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		refs := make([]string, len(batch))
		for i, sum := range batch {
			refs[i] = "sha256:" + sum
		}
		used, err := referenced(ctx, refs)
		if err != nil {
			return fmt.Errorf("blobs: check references: %w", err)
		}
		for i, sum := range batch {
			if used[refs[i]] {
				continue
			}
			n, err := d.remove(sum, before)
			if err != nil {
				return err
			}
			if n >= 0 {
				out.Files++
				out.Bytes += n
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	err := d.walk(func(sum string, info os.FileInfo) error {
		if !info.ModTime().Before(before) {
			return nil
		}
		batch = append(batch, sum)
		if len(batch) < collectBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return out, fmt.Errorf("blobs: collect in %s: %w", d.root, err)
	}
	if err := d.removeStaleTemporaries(before); err != nil {
		return out, fmt.Errorf("blobs: collect in %s: %w", d.root, err)
	}
	return out, nil
}

// remove deletes the content sum unless a Put stored it at or after before; it returns the
// bytes freed, or -1 when nothing was removed. Removals are not synced: a removal lost to a
// power failure leaves a file that the next Collect removes again, and the start-up count
// includes it meanwhile.
func (d *Dir) remove(sum string, before time.Time) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	path := d.path(sum)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return -1, err
	}
	if !info.ModTime().Before(before) {
		return -1, nil // stored again since the walk saw it
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return -1, err
	}
	d.used -= info.Size()
	d.full = false
	return info.Size(), nil
}

// removeStaleTemporaries removes the temporary files older than before: a Put in progress
// writes to its file all along, so an old one was left by a Put a crash cut short.
func (d *Dir) removeStaleTemporaries(before time.Time) error {
	dir := filepath.Join(d.root, "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() && info.ModTime().Before(before) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// sumPattern is a stored file's name: the hex digest of its content.
var sumPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// walk calls f for every stored file, with its digest; files that are not content (the
// temporary directory, anything an operator left) are skipped.
func (d *Dir) walk(f func(sum string, info os.FileInfo) error) error {
	fans, err := os.ReadDir(d.root)
	if err != nil {
		return err
	}
	for _, fan := range fans {
		if !fan.IsDir() || len(fan.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(d.root, fan.Name()))
		if err != nil {
			return err
		}
		for _, file := range files {
			name := file.Name()
			if !file.Type().IsRegular() || !sumPattern.MatchString(name) || name[:2] != fan.Name() {
				continue
			}
			info, err := file.Info()
			if errors.Is(err, os.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return err
			}
			if err := f(name, info); err != nil {
				return err
			}
		}
	}
	return nil
}
