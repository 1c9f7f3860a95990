package loopback_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	"github.com/casino-support/gateway/test/conformance"
)

// FuzzChannelHook: any body gets an answer, never a crash, and nothing reaches the sink
// unless the answer is 200, in which case every message carries its dedup key and address.
func FuzzChannelHook(f *testing.F) {
	for _, seed := range []string{
		`{"messages":[{"id":"1","address":"p","text":"hi"}]}`,
		`{"messages":[{"id":"1","address":"p","text":"hi","vip":3,"language":"de","sent_at":"2026-01-02T03:04:05Z"}]}`,
		`{"messages":[]}`, `{"messages":[{"id":"","address":"p"}]}`, `{"messages":[{"id":"1"}]}`,
		`{"messages":null}`, `[]`, `null`, `{`, `{"messages":[{"id":1}]}`, `{"messages":[{"id":"1","address":"p"}],"x":1}`,
		"\xff\xfe", strings.Repeat(`{"messages":[`, 50),
	} {
		f.Add(seed)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, body string) {
		ch := chanloop.New("chat", chanloop.Config{SendURL: "http://127.0.0.1:9/send"}, nil, log)
		sink := &conformance.RecordingSink{}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go ch.Run(ctx, sink)
		deadline := time.Now().Add(time.Second)
		for {
			rec := httptest.NewRecorder()
			ch.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/chat", strings.NewReader(body)))
			if rec.Code == http.StatusServiceUnavailable && len(sink.Calls()) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond) // Run has not handed over the sink yet
				continue
			}
			msgs := sink.Messages()
			if rec.Code != http.StatusOK {
				if len(msgs) != 0 {
					t.Fatalf("answered %d but delivered %d messages", rec.Code, len(msgs))
				}
				if !strings.Contains(rec.Body.String(), `"error"`) {
					t.Fatalf("answered %d without saying why: %q", rec.Code, rec.Body.String())
				}
				return
			}
			if len(msgs) == 0 {
				t.Fatalf("answered 200 but delivered nothing")
			}
			for _, m := range msgs {
				if m.ExternalID == "" || m.Address == "" || m.Source != "chat" {
					t.Fatalf("delivered a message without its dedup key or address: %+v", m)
				}
			}
			return
		}
	})
}
