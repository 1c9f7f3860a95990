package router_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
)

const day = 24 * time.Hour

// sample sums the samples of the metric name with label = value (any, when label is "").
func sample(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == label && l.GetValue() == value
			}
			if match {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return sum
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRetention runs retention beside a router on the shared fake clock: a closed
// conversation goes once quiet for its period, with the content only it referenced; an open
// one stays, and so does content another message still carries; content never accepted with
// a message goes once past the grace period; attachments expire on their own period, and
// their messages stay. What was deleted is counted and logged.
func TestRetention(t *testing.T) {
	type want struct {
		conversations float64 // gateway_retention_deleted_total{kind="conversations"}
		references    float64 // ... {kind="attachment_references"}
		files         []string
		closedKept    bool
	}
	tests := []struct {
		name string
		opts router.RetentionOptions
		want want
	}{
		{"conversations after 90 days, attachments with them",
			router.RetentionOptions{ClosedConversations: 90 * day},
			want{conversations: 1, references: 2, files: []string{"closed only", "orphan"}}},
		{"attachments after 45 days, conversations forever",
			router.RetentionOptions{Attachments: 45 * day},
			want{references: 3, files: []string{"closed only", "open only", "orphan"}, closedKept: true}},
		{"both",
			router.RetentionOptions{ClosedConversations: 90 * day, Attachments: 45 * day},
			want{conversations: 1, references: 3, files: []string{"closed only", "open only", "orphan"}}},
		{"forever keeps all but what no message carries",
			router.RetentionOptions{},
			want{files: []string{"orphan"}, closedKept: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, router.Options{PollInterval: time.Minute})
				bl, err := blobs.Open(t.TempDir(), blobs.Options{MaxBytes: 1 << 20, Quota: 1 << 20, Now: f.clk.Now, Registerer: f.reg})
				require.NoError(t, err)
				files := map[string]normalize.Attachment{}
				put := func(content string) normalize.Attachment {
					a, err := bl.Put(f.ctx, strings.NewReader(content), "passport.pdf", "application/pdf")
					require.NoError(t, err)
					files[content] = a
					return a
				}
				send := func(addr, ext string, atts ...normalize.Attachment) {
					m := inbound(addr, 0)
					m.ExternalID, m.Kind, m.Attachments = normalize.ExternalID(ext), normalize.KindDocument, atts
					require.NoError(t, f.r.Deliver(f.ctx, m))
				}
				// Day 0: one player sends a file of their own and one the other player sends
				// later too; the agent closes their conversation. The other player sends a file.
				send("closed", "c1", put("closed only"), put("shared"))
				send("open", "o1", put("open only"))
				put("orphan") // stored, but its message was never accepted
				f.advance(time.Second)
				closed, err := f.st.ConversationAt(f.ctx, "chat", "closed")
				require.NoError(t, err)
				require.NoError(t, f.r.Deliver(f.ctx, normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: "close-1",
					Conversation: closed.ID, Kind: normalize.KindSystem, Status: normalize.StatusClosed, Author: normalize.Author{Role: normalize.RoleAgent}}))
				f.advance(time.Second)
				// Day 60: the open conversation's player sends the shared file.
				f.advance(60 * day)
				send("open", "o2", put("shared"))
				f.advance(time.Second)

				// Day 91: the closed conversation has been quiet for 91 days; a file stored an
				// hour ago has no message yet. Retention's first pass finds all that due.
				f.advance(31*day - time.Hour)
				put("late")
				f.advance(time.Hour)
				logs := &syncBuffer{}
				opts := tc.opts
				opts.Interval, opts.Clock = time.Hour, f.clk
				ret := router.NewRetention(f.st, bl, f.helpdesks(), opts, f.reg, slog.New(slog.NewTextHandler(logs, nil)))
				ctx, stop := context.WithCancel(f.ctx)
				done := make(chan struct{})
				go func() { defer close(done); ret.Run(ctx) }()
				defer func() { stop(); <-done }()
				f.advance(0)

				_, err = f.st.Conversation(f.ctx, closed.ID)
				if tc.want.closedKept {
					require.NoError(t, err, "the closed conversation must be kept")
				} else {
					require.ErrorIs(t, err, connectors.ErrNotFound, "the closed conversation must be deleted")
				}
				open, err := f.st.ConversationAt(f.ctx, "chat", "open")
				require.NoError(t, err, "an open conversation stays")
				msgs, err := f.st.Messages(f.ctx, open.ID, 0, 10)
				require.NoError(t, err)
				require.Len(t, msgs, 2, "messages stay when their attachments expire")
				require.Len(t, msgs[0].Message.Attachments, 1, "and say what was attached")

				var gone []string
				var freed, left int64
				for content, a := range files {
					_, err := bl.Open(f.ctx, a.BlobRef)
					if err == nil {
						left += a.Size
						continue
					}
					require.ErrorIs(t, err, os.ErrNotExist)
					gone = append(gone, content)
					freed += a.Size
				}
				require.ElementsMatch(t, tc.want.files, gone, "files removed; never the shared one the newer message carries, nor the late one")
				require.Equal(t, tc.want.conversations, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "conversations"))
				require.Equal(t, tc.want.references, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "attachment_references"))
				require.Equal(t, float64(len(tc.want.files)), sample(t, f.reg, "gateway_retention_deleted_total", "kind", "attachment_files"))
				require.Equal(t, float64(freed), sample(t, f.reg, "gateway_retention_freed_bytes_total", "", ""))
				require.Equal(t, float64(left), sample(t, f.reg, "gateway_attachments_bytes", "", ""), "the quota counts the room freed")
				require.Equal(t, float64(f.clk.Now().Unix()), sample(t, f.reg, "gateway_retention_last_success_timestamp_seconds", "", ""))
				require.Contains(t, logs.String(), "retention: removed attachment content no message references")
				if tc.want.conversations > 0 {
					require.Contains(t, logs.String(), "retention: deleted closed conversations")
				}
				if tc.opts.Attachments > 0 {
					require.Contains(t, logs.String(), "retention: expired attachments")
				}
			})
		})
	}
}

// TestRetentionInBatches: a pass deletes everything due, a batch per transaction.
func TestRetentionInBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{PollInterval: time.Minute})
		for i := range 5 {
			addr := string(rune('a' + i))
			require.NoError(t, f.r.Deliver(f.ctx, inbound(addr, 0)))
			f.advance(time.Second)
			c, err := f.st.ConversationAt(f.ctx, "chat", normalize.Address(addr))
			require.NoError(t, err)
			require.NoError(t, f.r.Deliver(f.ctx, normalize.Message{Direction: normalize.Outbound, Source: "desk", ExternalID: normalize.ExternalID("close-" + addr),
				Conversation: c.ID, Kind: normalize.KindSystem, Status: normalize.StatusClosed, Author: normalize.Author{Role: normalize.RoleAgent}}))
			f.advance(time.Second)
		}
		f.advance(31 * day)
		counting := &countingStore{RetentionStore: f.st}
		ret := router.NewRetention(counting, nil, f.helpdesks(), router.RetentionOptions{ClosedConversations: 30 * day, Batch: 2, Clock: f.clk},
			f.reg, slog.New(slog.DiscardHandler))
		require.NoError(t, ret.Pass(f.ctx))
		require.Equal(t, 4, counting.purges, "batches of 2, 2 and 1, and one that finds nothing left")
		require.Equal(t, 5.0, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "conversations"))
		require.Equal(t, 10.0, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "messages"))
	})
}

// countingStore counts PurgeConversations calls and fails them on demand.
type countingStore struct {
	router.RetentionStore
	purges int
	fail   error
}

func (s *countingStore) PurgeConversations(ctx context.Context, olderThan time.Duration, limit int) (store.Purged, error) {
	s.purges++
	if s.fail != nil {
		return store.Purged{}, s.fail
	}
	return s.RetentionStore.PurgeConversations(ctx, olderThan, limit)
}

// TestRetentionFailureIsRetried: a pass that fails is logged, and what it left is due at the
// next tick; nothing is marked done.
func TestRetentionFailureIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{PollInterval: time.Minute})
		injected := errors.New("database is locked")
		st := &countingStore{RetentionStore: f.st, fail: injected}
		logs := &syncBuffer{}
		ret := router.NewRetention(st, nil, f.helpdesks(), router.RetentionOptions{ClosedConversations: day, Interval: time.Hour, Clock: f.clk},
			f.reg, slog.New(slog.NewTextHandler(logs, nil)))
		require.ErrorIs(t, ret.Pass(f.ctx), injected)

		ctx, stop := context.WithCancel(f.ctx)
		done := make(chan struct{})
		go func() { defer close(done); ret.Run(ctx) }()
		defer func() { stop(); <-done }()
		f.advance(0)
		require.Equal(t, 2, st.purges)
		require.Contains(t, logs.String(), "retention: pass failed")
		require.Zero(t, sample(t, f.reg, "gateway_retention_last_success_timestamp_seconds", "", ""))
		f.advance(time.Hour)
		require.Equal(t, 3, st.purges, "tried again at the next tick")
	})
}

// helpdesks is the fixture's helpdesk as the gateway hands it to retention.
func (f *fixture) helpdesks() map[normalize.InstanceName]connectors.Helpdesk {
	return map[normalize.InstanceName]connectors.Helpdesk{"desk": f.hd}
}

// TestRetentionExpiresConnectorRecords: a pass deletes connectors' records past their expiry,
// in batches, whatever the configured periods, and counts them; the others stay.
func TestRetentionExpiresConnectorRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, router.Options{PollInterval: time.Minute})
		now := f.clk.Now()
		for i := range 5 {
			require.NoError(t, f.st.PutRecord(f.ctx, "voice", fmt.Sprintf("handled:call%d", i), "1", now.Add(30*day)))
		}
		require.NoError(t, f.st.PutRecord(f.ctx, "mail", "notice:x", "sent", now.Add(60*day)))
		ret := router.NewRetention(f.st, nil, f.helpdesks(), router.RetentionOptions{Batch: 2, Clock: f.clk},
			f.reg, slog.New(slog.DiscardHandler))
		require.NoError(t, ret.Pass(f.ctx))
		require.Zero(t, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "connector_records"), "nothing expired yet")

		f.advance(31 * day)
		require.NoError(t, ret.Pass(f.ctx))
		require.Equal(t, 5.0, sample(t, f.reg, "gateway_retention_deleted_total", "kind", "connector_records"),
			"deleted, not only past their expiry")
		left, err := f.st.ListRecords(f.ctx, "voice", "", "", 10)
		require.NoError(t, err)
		require.Empty(t, left)
		_, found, err := f.st.Record(f.ctx, "mail", "notice:x")
		require.NoError(t, err)
		require.True(t, found, "a record not yet expired stays")
	})
}
