package router

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
)

// RetentionStore is what retention needs of the store.
type RetentionStore interface {
	PurgeConversations(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error)
	ExpireAttachments(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error)
	ReferencedBlobs(ctx context.Context, refs []string) (map[string]bool, error)
}

// BlobCollector removes attachment content that no message references (blobs.Dir).
type BlobCollector interface {
	Collect(ctx context.Context, before time.Time, referenced blobs.Referenced) (blobs.Collected, error)
}

// RetentionOptions say what retention keeps, and how it goes about deleting the rest.
type RetentionOptions struct {
	// ClosedConversations is how long a closed conversation is kept once nothing happens in
	// it any more; 0 keeps it forever.
	ClosedConversations time.Duration
	// Attachments is how long attachment content is kept after the message that carried it;
	// 0 keeps it as long as its conversation.
	Attachments time.Duration
	// Interval is how often retention looks for what became due; default 1h.
	Interval time.Duration
	// Batch bounds the conversations, or attachment references, one transaction deletes;
	// default 50.
	Batch int
	// Grace keeps content that a Put stored this lately, whether or not a message references
	// it yet: a connector stores a file before the message carrying it. Default 24h.
	Grace time.Duration
	// Clock is the store's and the blob store's clock; nil is the system clock.
	Clock clock.Clock
}

func (o *RetentionOptions) defaults() {
	if o.Interval <= 0 {
		o.Interval = time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 50
	}
	if o.Grace <= 0 {
		o.Grace = 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
}

// collectEvery is how often content no message references is looked for when retention
// deleted nothing: what a Put stored for a message that was never accepted.
const collectEvery = 24 * time.Hour

// Retention deletes closed conversations and attachments older than the configured periods
// (GDPR's storage limitation, and disk that anonymous floods would otherwise fill for good).
//
// It is one ticker over rows with due times: a closed conversation is due its period after
// it went quiet, an attachment reference its period after its message; each pass asks the
// store for what is due, in batches of short transactions through the store's writer, so
// intake never waits long. Nothing is scheduled in memory, so a restart loses nothing, and
// replicas may each run it. Content is removed from the blob store last, once no remaining
// message references it.
type Retention struct {
	st    RetentionStore
	blobs BlobCollector
	opts  RetentionOptions
	log   *slog.Logger
	clock clock.Clock

	deleted *prometheus.CounterVec
	freed   prometheus.Counter
	lastOK  prometheus.Gauge

	lastCollect time.Time
}

// Kinds of gateway_retention_deleted_total.
const (
	deletedConversations = "conversations"
	deletedMessages      = "messages"
	deletedReferences    = "attachment_references"
	deletedFiles         = "attachment_files"
)

// NewRetention returns retention over st and the blob store bl (nil: no attachment content
// to remove). Its metrics are registered with reg.
func NewRetention(st RetentionStore, bl BlobCollector, opts RetentionOptions, reg prometheus.Registerer, log *slog.Logger) *Retention {
	opts.defaults()
	r := &Retention{st: st, blobs: bl, opts: opts, log: log, clock: opts.Clock,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_retention_deleted_total",
			Help: "What retention deleted, by kind (conversations, messages, attachment_references, attachment_files)."}, []string{"kind"}),
		freed: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_retention_freed_bytes_total",
			Help: "Bytes of attachment content retention removed."}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_retention_last_success_timestamp_seconds",
			Help: "When a retention pass last finished without error, in Unix seconds."}),
	}
	for _, k := range []string{deletedConversations, deletedMessages, deletedReferences, deletedFiles} {
		r.deleted.WithLabelValues(k)
	}
	reg.MustRegister(r.deleted, r.freed, r.lastOK)
	return r
}

// Run applies retention at once and then every Interval until ctx ends. A failed pass is
// logged and tried again at the next tick: what it did not delete is still due then.
func (r *Retention) Run(ctx context.Context) error {
	r.log.Info("retention", "closed_conversations", durationSetting(r.opts.ClosedConversations),
		"attachments", durationSetting(r.opts.Attachments), "interval", r.opts.Interval.String())
	for {
		if err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("retention: pass failed; what is due is tried again at the next one", "err", err)
		}
		t := r.clock.NewTimer(r.opts.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// durationSetting shows a retention period in logs; 0 keeps forever.
func durationSetting(d time.Duration) string {
	if d <= 0 {
		return "forever"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Pass deletes everything due now: closed conversations, then attachment references, batch
// by batch until none is left, then the content no message references any more. Run calls
// it; calling it while Run runs is not safe.
func (r *Retention) Pass(ctx context.Context) error {
	var convs store.Purged
	for r.opts.ClosedConversations > 0 {
		p, err := r.st.PurgeConversations(ctx, r.opts.ClosedConversations, r.opts.Batch)
		r.count(p)
		convs.Conversations += p.Conversations
		convs.Messages += p.Messages
		convs.Attachments += p.Attachments
		if err != nil {
			return fmt.Errorf("retention: delete closed conversations: %w", err)
		}
		if p.Conversations == 0 {
			break
		}
	}
	if convs.Conversations > 0 {
		r.log.Info("retention: deleted closed conversations", "conversations", convs.Conversations, "messages", convs.Messages,
			"attachment_references", convs.Attachments, "quiet_for", durationSetting(r.opts.ClosedConversations))
	}
	expired := 0
	for r.opts.Attachments > 0 {
		p, err := r.st.ExpireAttachments(ctx, r.opts.Attachments, r.opts.Batch)
		r.count(p)
		expired += p.Attachments
		if err != nil {
			return fmt.Errorf("retention: expire attachments: %w", err)
		}
		if p.Attachments == 0 {
			break
		}
	}
	if expired > 0 {
		r.log.Info("retention: expired attachments", "attachment_references", expired, "older_than", durationSetting(r.opts.Attachments))
	}
	now := r.clock.Now()
	// Walking the blob store costs a look at every file: it is done when references were
	// dropped, and otherwise once a day for content no message was ever accepted with.
	if r.blobs != nil && (convs.Attachments > 0 || expired > 0 || now.Sub(r.lastCollect) >= collectEvery) {
		c, err := r.blobs.Collect(ctx, now.Add(-r.opts.Grace), r.st.ReferencedBlobs)
		r.deleted.WithLabelValues(deletedFiles).Add(float64(c.Files))
		r.freed.Add(float64(c.Bytes))
		if c.Files > 0 {
			r.log.Info("retention: removed attachment content no message references", "files", c.Files, "bytes", c.Bytes)
		}
		if err != nil {
			return fmt.Errorf("retention: remove attachment content: %w", err)
		}
		r.lastCollect = now
	}
	r.lastOK.Set(float64(now.Unix()))
	return nil
}

func (r *Retention) count(p store.Purged) {
	r.deleted.WithLabelValues(deletedConversations).Add(float64(p.Conversations))
	r.deleted.WithLabelValues(deletedMessages).Add(float64(p.Messages))
	r.deleted.WithLabelValues(deletedReferences).Add(float64(p.Attachments))
}
