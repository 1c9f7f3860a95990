package loopback_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	deskloop "github.com/casino-support/gateway/connectors/helpdesk/loopback"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/loopback"
)

// BenchmarkFullLoopOverHTTP measures the whole path through the test doubles in one process:
// player messages POSTed to the loopback channel's hook (one per request, 32 concurrent
// senders, 50 conversations), stored durably, delivered over HTTP to the fake helpdesk.
// The clock stops when the helpdesk holds every message.
func BenchmarkFullLoopOverHTTP(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gw.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	remote := loopback.NewFakeHelpdeskRemote("")
	rs := httptest.NewServer(remote)
	defer rs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	hd := deskloop.New("desk", deskloop.Config{URL: rs.URL}, client, log)
	ch := chanloop.New("chat", chanloop.Config{SendURL: rs.URL + "/unused"}, client, log)
	r := router.New(st, map[normalize.InstanceName]connectors.Channel{"chat": ch},
		map[normalize.InstanceName]connectors.Helpdesk{"desk": hd}, router.Rules{Default: "desk"},
		router.Options{}, prometheus.NewRegistry(), log)
	go ch.Run(ctx, r)
	go hd.Run(ctx, r)
	go r.Run(ctx)
	hook := httptest.NewServer(ch)
	defer hook.Close()
	time.Sleep(10 * time.Millisecond) // let Run hand the sink to the hook

	var n atomic.Int64
	b.SetParallelism(16) // 32 senders on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			msg := loopback.PlayerMessage{ID: fmt.Sprint(i), Address: fmt.Sprintf("p%d", i%50), Text: fmt.Sprintf("message %d", i)}
			if err := loopback.PlayerSend(ctx, hook.URL, "", msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for remote.MessageCount() < int(n.Load()) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
