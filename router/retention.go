package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
)

// RetentionStore is what retention needs of the store.
type RetentionStore interface {
	PurgeConversations(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error)
	ExpireAttachments(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error)
	ReferencedBlobs(ctx context.Context, refs []string) (map[string]bool, error)
	DueForgets(ctx context.Context, limit int) ([]store.Forget, error)
	DropForgets(ctx context.Context, recs []store.Forget) error
	DelayForgets(ctx context.Context, recs []store.Forget, until time.Time) error
	ExpireRecords(ctx context.Context, limit int) (int, error)
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
	// Batch bounds the conversations, or attachment references, one transaction deletes, and
	// the conversations handed to one Forget; default 50.
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

// forgetTimeout bounds one Forget call: a helpdesk that hangs must not hold up the rest of
// the pass; what it did not confirm is handed to it again at the next one.
const forgetTimeout = time.Minute

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
//
// A purged conversation may live on in its helpdesk: the built-in inbox keeps the player's
// name and the last message's first line. The purge records in its own transaction that the
// helpdesk must forget it; after purging, each pass hands the due records to the helpdesks
// that are connectors.Forgetter, in batches, and drops them once Forget returned nil. A
// failure is logged, counted and tried again at the next pass; a crash in between loses
// nothing, as the records wait in the store. Records of helpdesks that keep nothing (webhook,
// RT: the operator's own system keeps its tickets by its own rules) or are no longer
// configured are dropped.
type Retention struct {
	st        RetentionStore
	blobs     BlobCollector
	helpdesks map[normalize.InstanceName]connectors.Helpdesk
	opts      RetentionOptions
	log       *slog.Logger
	clock     clock.Clock

	deleted        *prometheus.CounterVec
	freed          prometheus.Counter
	lastOK         prometheus.Gauge
	forgetFailures *prometheus.CounterVec

	lastCollect time.Time
}

// Kinds of gateway_retention_deleted_total.
const (
	deletedConversations = "conversations"
	deletedMessages      = "messages"
	deletedReferences    = "attachment_references"
	deletedFiles         = "attachment_files"
	// deletedForgotten counts conversations a helpdesk forgot (connectors.Forgetter).
	deletedForgotten = "helpdesk_conversations"
	// deletedRecords counts connectors' small records past their expiry (connectors.Records).
	deletedRecords = "connector_records"
)

// NewRetention returns retention over st, the blob store bl (nil: no attachment content to
// remove) and helpdesks, by instance name, which are told of the conversations it deletes.
// Its metrics are registered with reg.
func NewRetention(st RetentionStore, bl BlobCollector, helpdesks map[normalize.InstanceName]connectors.Helpdesk,
	opts RetentionOptions, reg prometheus.Registerer, log *slog.Logger) *Retention {
	opts.defaults()
	r := &Retention{st: st, blobs: bl, helpdesks: helpdesks, opts: opts, log: log, clock: opts.Clock,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_retention_deleted_total",
			Help: "What retention deleted, by kind (conversations, messages, attachment_references, attachment_files, " +
				"helpdesk_conversations: those a helpdesk forgot, connector_records: connectors' records past their expiry)."}, []string{"kind"}),
		freed: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_retention_freed_bytes_total",
			Help: "Bytes of attachment content retention removed."}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_retention_last_success_timestamp_seconds",
			Help: "When a retention pass last finished without error, in Unix seconds."}),
		forgetFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_retention_forget_failures_total",
			Help: "Batches of deleted conversations a helpdesk failed to forget; they are handed over again at the next pass."},
			[]string{"helpdesk"}),
	}
	for _, k := range []string{deletedConversations, deletedMessages, deletedReferences, deletedFiles, deletedForgotten, deletedRecords} {
		r.deleted.WithLabelValues(k)
	}
	for name, h := range helpdesks {
		if _, ok := h.(connectors.Forgetter); ok {
			r.forgetFailures.WithLabelValues(string(name))
		}
	}
	reg.MustRegister(r.deleted, r.freed, r.lastOK, r.forgetFailures)
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

// Pass deletes everything due now: closed conversations, batch by batch until none is left,
// then what their helpdesks keep of them, then attachment references, then the content no
// message references any more. Run calls it; calling it while Run runs is not safe.
func (r *Retention) Pass(ctx context.Context) error {
	convs, purgeErr := r.purge(ctx)
	// Forgetting follows even when purging failed: what earlier batches and passes deleted
	// must still leave the helpdesks.
	if err := r.forget(ctx); err != nil || purgeErr != nil {
		return errors.Join(purgeErr, err)
	}
	if err := r.expireRecords(ctx); err != nil {
		return err
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

// purge deletes the closed conversations due, batch by batch, and returns what it deleted.
func (r *Retention) purge(ctx context.Context) (store.Purged, error) {
	var convs store.Purged
	for r.opts.ClosedConversations > 0 {
		p, err := r.st.PurgeConversations(ctx, r.opts.ClosedConversations, r.opts.Batch)
		r.count(p)
		convs.Conversations += p.Conversations
		convs.Messages += p.Messages
		convs.Attachments += p.Attachments
		if err != nil {
			return convs, fmt.Errorf("retention: delete closed conversations: %w", err)
		}
		if p.Conversations == 0 {
			break
		}
	}
	if convs.Conversations > 0 {
		r.log.Info("retention: deleted closed conversations", "conversations", convs.Conversations, "messages", convs.Messages,
			"attachment_references", convs.Attachments, "quiet_for", durationSetting(r.opts.ClosedConversations))
	}
	return convs, nil
}

// expireRecords deletes the connectors' records past their expiry (a voice line's calls, the
// e-mail channel's notices), batch by batch until none is left. They expire whatever the
// configured periods: each connector chose how long its records matter.
func (r *Retention) expireRecords(ctx context.Context) error {
	total := 0
	for {
		n, err := r.st.ExpireRecords(ctx, r.opts.Batch)
		r.deleted.WithLabelValues(deletedRecords).Add(float64(n))
		total += n
		if err != nil {
			return fmt.Errorf("retention: delete expired connector records: %w", err)
		}
		if n == 0 {
			break
		}
	}
	if total > 0 {
		r.log.Info("retention: deleted expired connector records", "records", total)
	}
	return nil
}

// forget hands the purged conversations due to be forgotten to their helpdesks, a batch at a
// time, until none is due. Each batch ends dropped (forgotten, or nobody to tell) or delayed
// to the next pass (the helpdesk failed), so the loop ends. It returns an error only when the
// store fails; a helpdesk's failure is logged and counted here.
func (r *Retention) forget(ctx context.Context) error {
	forgotten := map[normalize.InstanceName]int{}
	for {
		due, err := r.st.DueForgets(ctx, r.opts.Batch)
		if err != nil {
			return fmt.Errorf("retention: find what helpdesks must forget: %w", err)
		}
		if len(due) == 0 {
			break
		}
		for _, recs := range byHelpdesk(due) {
			n, err := r.forgetBatch(ctx, recs)
			if err != nil {
				return err
			}
			forgotten[recs[0].Helpdesk] += n
		}
	}
	for name, n := range forgotten {
		if n > 0 {
			r.log.Info("retention: the helpdesk forgot deleted conversations", "helpdesk", name, "conversations", n)
		}
	}
	return nil
}

// forgetBatch hands recs, all of one helpdesk, to its Forget and drops or delays them by the
// outcome; it returns how many the helpdesk forgot.
func (r *Retention) forgetBatch(ctx context.Context, recs []store.Forget) (int, error) {
	name := recs[0].Helpdesk
	h, configured := r.helpdesks[name]
	f, ok := h.(connectors.Forgetter)
	if !ok {
		if !configured {
			// Its database, if it had one, is no longer the gateway's to reach.
			r.log.Warn("retention: deleted conversations of a helpdesk no longer configured; nothing to tell it",
				"helpdesk", name, "conversations", len(recs))
		}
		if err := r.st.DropForgets(ctx, recs); err != nil {
			return 0, fmt.Errorf("retention: drop what %s keeps nothing of: %w", name, err)
		}
		return 0, nil
	}
	convs := make([]normalize.ConversationID, len(recs))
	for i, rec := range recs {
		convs[i] = rec.Conversation
	}
	fctx, cancel := context.WithTimeout(ctx, forgetTimeout)
	err := f.Forget(fctx, convs)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: the records wait in the store for the next start.
			return 0, fmt.Errorf("retention: %s: forget deleted conversations: %w", name, err)
		}
		r.forgetFailures.WithLabelValues(string(name)).Inc()
		r.log.Warn("retention: the helpdesk failed to forget deleted conversations; they are handed over again at the next pass",
			"helpdesk", name, "conversations", len(recs), "err", err)
		if err := r.st.DelayForgets(ctx, recs, r.clock.Now().Add(r.opts.Interval)); err != nil {
			return 0, fmt.Errorf("retention: delay what %s must forget: %w", name, err)
		}
		return 0, nil
	}
	if err := r.st.DropForgets(ctx, recs); err != nil {
		return 0, fmt.Errorf("retention: drop what %s forgot: %w", name, err)
	}
	r.deleted.WithLabelValues(deletedForgotten).Add(float64(len(recs)))
	return len(recs), nil
}

// byHelpdesk splits recs by helpdesk, keeping their order within each.
func byHelpdesk(recs []store.Forget) [][]store.Forget {
	var out [][]store.Forget
	for _, rec := range recs {
		i := slices.IndexFunc(out, func(g []store.Forget) bool { return g[0].Helpdesk == rec.Helpdesk })
		if i < 0 {
			out = append(out, nil)
			i = len(out) - 1
		}
		out[i] = append(out[i], rec)
	}
	return out
}

func (r *Retention) count(p store.Purged) {
	r.deleted.WithLabelValues(deletedConversations).Add(float64(p.Conversations))
	r.deleted.WithLabelValues(deletedMessages).Add(float64(p.Messages))
	r.deleted.WithLabelValues(deletedReferences).Add(float64(p.Attachments))
}
