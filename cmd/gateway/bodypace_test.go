package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// pacedServer serves h behind paceBodies with short limits: 1 KiB/s after 300 ms, stalls of
// 300 ms at most.
func pacedServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", h)
	p := pacing{rate: 1 << 10, grace: 300 * time.Millisecond, stall: 300 * time.Millisecond}
	srv := httptest.NewServer(paceBodies(p, prometheus.NewRegistry(), func(string) bool { return false },
		slog.New(slog.DiscardHandler), mux))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// readAll answers what reading the body came to: "read N" or "timeout after N".
func readAll(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		fmt.Fprintf(w, "timeout after %d", n)
	case err != nil:
		fmt.Fprintf(w, "error %v", err)
	default:
		fmt.Fprintf(w, "read %d", n)
	}
}

// send writes a request with a body of length bytes in chunks of chunk every gap, then reads
// the answer's body.
func send(t *testing.T, addr string, length, chunk int, gap time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", length)
	go func() {
		for sent := 0; sent < length; sent += chunk {
			if _, err := conn.Write(bytes.Repeat([]byte("x"), min(chunk, length-sent))); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func TestBodyPacing(t *testing.T) {
	addr := pacedServer(t, readAll)
	tests := []struct {
		name          string
		length, chunk int
		gap           time.Duration
		want          string
	}{
		{"at once", 4096, 4096, 0, "read 4096"},
		// 4 KiB at 4 KiB/s takes a second, past the grace three times over, and stays ahead of
		// the rate even when a loaded machine sleeps for longer than asked.
		{"steady above the rate, longer than the grace", 4 << 10, 400, 100 * time.Millisecond, "read 4096"},
		// A byte every 100 ms: 10 B/s.
		{"a trickle", 4096, 1, 100 * time.Millisecond, "timeout after"},
		// 2 KiB at once buys 2 s by the rate, but the next bytes never come.
		{"a stall after a fast start", 4096, 2048, time.Hour, "timeout after 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got := send(t, addr, tt.length, tt.chunk, tt.gap)
			require.True(t, strings.HasPrefix(got, tt.want), "got %q", got)
			if strings.HasPrefix(tt.want, "timeout") {
				require.Less(t, time.Since(start), 5*time.Second, "cut off near the grace and a second's worth of reading, not minutes later")
			}
		})
	}
}

// The pacing must not end what lives long on purpose: a request without a body (the inbox's
// event stream, the chat's long poll and WebSocket) and a handler still at work after reading
// its body keep their contexts past every limit.
func TestBodyPacingLeavesStreamsAlone(t *testing.T) {
	addr := pacedServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			fmt.Fprintf(w, "context ended after reading %d", n)
		case <-time.After(time.Second): // past grace and stall, three times over
			fmt.Fprintf(w, "alive after reading %d", n)
		}
	})
	for _, tc := range []struct{ method, body, want string }{
		{"GET", "", "alive after reading 0"},
		{"POST", `{"after":"cursor"}`, "alive after reading 18"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://"+addr+"/", strings.NewReader(tc.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}
