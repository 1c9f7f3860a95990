package blobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store/blobs"
)

// metric sums the samples of the metric name whose labels include want.
func metric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
	samples:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// logBuffer is a log destination safe for the concurrent writes of a store.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func ref(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestQuota: the total stays within the quota, identical content takes no more room even
// when the store is full, and each refusal says why: the storage is full (ErrQuota), or the
// file is too large (ErrTooLarge), never the one for the other.
func TestQuota(t *testing.T) {
	const fullLog = "attachment storage is full"
	type step struct {
		name     string
		content  string
		wantErr  error
		wantUsed int64
		wantLogs int // lines saying the storage is full, so far
	}
	steps := []step{
		{"fits", strings.Repeat("a", 10), nil, 10, 0},
		{"identical content counts once", strings.Repeat("a", 10), nil, 10, 0},
		{"fits exactly up to 25", strings.Repeat("b", 15), nil, 25, 0},
		{"over the per-file limit is too large, not full", strings.Repeat("x", 21), connectors.ErrTooLarge, 25, 0},
		{"would pass the quota", strings.Repeat("c", 10), connectors.ErrQuota, 25, 1},
		{"refused again, logged once", strings.Repeat("c", 10), connectors.ErrQuota, 25, 1},
		{"identical content is taken although it would not fit", strings.Repeat("b", 15), nil, 25, 1},
		{"what still fits is taken", strings.Repeat("d", 5), nil, 30, 1},
		{"a full store refuses a byte more and logs it again", "e", connectors.ErrQuota, 30, 2},
		{"and takes identical content", strings.Repeat("a", 10), nil, 30, 2},
	}
	root := t.TempDir()
	reg := prometheus.NewRegistry()
	logs := &logBuffer{}
	d, err := blobs.Open(root, blobs.Options{MaxBytes: 20, Quota: 30, Registerer: reg, Log: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	for _, st := range steps {
		att, err := d.Put(t.Context(), strings.NewReader(st.content), "doc.pdf", "application/pdf")
		if st.wantErr != nil {
			require.ErrorIs(t, err, st.wantErr, st.name)
			other := connectors.ErrTooLarge
			if st.wantErr == connectors.ErrTooLarge {
				other = connectors.ErrQuota
			}
			require.NotErrorIs(t, err, other, st.name)
			_, serr := d.Open(t.Context(), ref(st.content))
			require.ErrorIs(t, serr, os.ErrNotExist, "%s: refused content is not kept", st.name)
		} else {
			require.NoError(t, err, st.name)
			require.Equal(t, ref(st.content), att.BlobRef, st.name)
		}
		require.Equal(t, st.wantUsed, d.Used(), st.name)
		require.Equal(t, st.wantLogs, logs.count(fullLog), st.name)
		tmp, err := os.ReadDir(filepath.Join(root, "tmp"))
		require.NoError(t, err)
		require.Empty(t, tmp, "%s: temporary files left behind", st.name)
	}
	require.Equal(t, 3.0, metric(t, reg, "gateway_attachment_refusals_total", map[string]string{"reason": "quota"}))
	require.Equal(t, 1.0, metric(t, reg, "gateway_attachment_refusals_total", map[string]string{"reason": "too_large"}))
	require.Equal(t, 30.0, metric(t, reg, "gateway_attachments_bytes", nil))
	require.Equal(t, 30.0, metric(t, reg, "gateway_attachments_quota_bytes", nil))

	// A restarted gateway counts what is stored and keeps to the quota from its first Put.
	again, err := blobs.Open(root, blobs.Options{MaxBytes: 20, Quota: 30})
	require.NoError(t, err)
	require.Equal(t, int64(30), again.Used())
	_, err = again.Put(t.Context(), strings.NewReader("f"), "doc.pdf", "application/pdf")
	require.ErrorIs(t, err, connectors.ErrQuota)
	_, err = again.Put(t.Context(), strings.NewReader(strings.Repeat("d", 5)), "doc.pdf", "application/pdf")
	require.NoError(t, err, "identical content after a restart")
	require.Equal(t, int64(30), again.Used())
}

// TestNoQuota: a quota of 0 sets none.
func TestNoQuota(t *testing.T) {
	d, err := blobs.Open(t.TempDir(), blobs.Options{MaxBytes: 1 << 20})
	require.NoError(t, err)
	for i := range 20 {
		_, err := d.Put(t.Context(), strings.NewReader(strings.Repeat(string(rune('a'+i)), 1000)), "f", "text/plain")
		require.NoError(t, err)
	}
	require.Equal(t, int64(20_000), d.Used())
	_, err = blobs.Open(t.TempDir(), blobs.Options{MaxBytes: 1, Quota: -1})
	require.Error(t, err)
}

// TestCollect: content is removed once no message references it and no Put stored it since
// the cut-off; storing identical content again keeps it, and the room counts at once.
func TestCollect(t *testing.T) {
	const day = 24 * time.Hour
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	root := t.TempDir()
	d, err := blobs.Open(root, blobs.Options{MaxBytes: 100, Quota: 100, Now: clk.Now})
	require.NoError(t, err)
	put := func(content string) {
		t.Helper()
		_, err := d.Put(t.Context(), strings.NewReader(content), "f", "text/plain")
		require.NoError(t, err)
	}
	put("old, unreferenced") // 17 bytes: removed
	put("old, referenced")   // 15 bytes: a message holds it
	put("old, stored again") // 17 bytes: a Put refreshes it below
	clk.Advance(10 * day)
	put("old, stored again")
	put("new, unreferenced") // 17 bytes: too recent to remove
	// A Put cut short by a crash left its temporary file.
	stale := filepath.Join(root, "tmp", "put-crashed")
	require.NoError(t, os.WriteFile(stale, []byte("partial"), 0o600))
	require.NoError(t, os.Chtimes(stale, clk.Now().Add(-2*day), clk.Now().Add(-2*day)))
	require.Equal(t, int64(66), d.Used())

	var asked []string
	referenced := func(_ context.Context, refs []string) (map[string]bool, error) {
		asked = append(asked, refs...)
		return map[string]bool{ref("old, referenced"): true}, nil
	}
	got, err := d.Collect(t.Context(), clk.Now().Add(-day), referenced)
	require.NoError(t, err)
	require.Equal(t, blobs.Collected{Files: 1, Bytes: 17}, got)
	require.ElementsMatch(t, []string{ref("old, unreferenced"), ref("old, referenced")}, asked,
		"only content older than the cut-off is asked about")
	require.Equal(t, int64(49), d.Used())
	for content, kept := range map[string]bool{"old, unreferenced": false, "old, referenced": true, "old, stored again": true, "new, unreferenced": true} {
		r, err := d.Open(t.Context(), ref(content))
		if kept {
			require.NoError(t, err, content)
			r.Close()
		} else {
			require.ErrorIs(t, err, os.ErrNotExist, content)
		}
	}
	_, err = os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist, "the crashed Put's temporary file")

	// A restart counts what Collect left.
	again, err := blobs.Open(root, blobs.Options{MaxBytes: 100, Quota: 100})
	require.NoError(t, err)
	require.Equal(t, int64(49), again.Used())
}
