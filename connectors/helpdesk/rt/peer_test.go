package rt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

// The integration tests run against a real Request Tracker 5 on loopback, started once per
// test process by test/peers/rt.sh (reused when already running). TestMain stops it again when
// this process started it: a test leaves no peer running that it started.

const rtServer = "/usr/share/request-tracker5/libexec/rt-server"

var peer struct {
	once sync.Once
	env  map[string]string
	skip string
	err  error
	// started is rt.sh when this process started RT (it was not running before), so that
	// TestMain stops it.
	started string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if peer.started != "" {
		if out, err := exec.Command(peer.started, "stop").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "rt.sh stop: %v\n%s", err, out)
		}
	}
	os.Exit(code)
}

// rtPeer returns the settings of the running RT, starting it if needed. Without RT installed
// (or without root, which rt.sh needs) the test is skipped, unless CI is set.
func rtPeer(t *testing.T) map[string]string {
	t.Helper()
	peer.once.Do(func() {
		switch {
		case fileMissing(rtServer):
			peer.skip = "Request Tracker 5 is not installed: run `sudo test/peers/setup.sh`"
			return
		case os.Geteuid() != 0:
			peer.skip = "test/peers/rt.sh must run as root to start Request Tracker"
			return
		}
		script, err := filepath.Abs("../../../test/peers/rt.sh")
		if err != nil {
			peer.err = err
			return
		}
		start := time.Now()
		running := exec.Command(script, "status").Run() == nil
		startRT := exec.Command(script, "start")
		if port := freeRTPort(running); port != "" {
			// RT's usual port is taken by something else: any free one does, since the
			// tests read the URL from rt.sh env. RT_PORT set by the caller wins.
			startRT.Env = append(os.Environ(), "RT_PORT="+port)
		}
		if out, err := startRT.CombinedOutput(); err != nil {
			peer.err = fmt.Errorf("rt.sh start: %w\n%s", err, out)
			return
		}
		if !running {
			peer.started = script
		}
		out, err := exec.Command(script, "env").Output()
		if err != nil {
			peer.err = fmt.Errorf("rt.sh env: %w", err)
			return
		}
		peer.env = map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
				peer.env[k] = v
			}
		}
		fmt.Fprintf(os.Stderr, "rt peer ready in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if peer.skip != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(peer.skip)
		}
		t.Skip(peer.skip)
	}
	if peer.err != nil {
		t.Fatal(peer.err)
	}
	return peer.env
}

func fileMissing(p string) bool {
	_, err := os.Stat(p)
	return err != nil
}

// newPeerHelpdesk returns a helpdesk on the running RT with short delays.
func newPeerHelpdesk(t *testing.T, blobs *memBlobs) *Helpdesk {
	env := rtPeer(t)
	cfg := Config{URL: env["RT_REST2_URL"], Token: settings.Secret(env["RT_GATEWAY_TOKEN"]), Queue: env["RT_QUEUE"],
		GatewayUser: env["RT_GATEWAY_USER"], RequestorDomain: "players.invalid",
		PollInterval: 200 * time.Millisecond, SettleDelay: 300 * time.Millisecond}
	d := Deps{}
	if blobs != nil {
		d.Blobs = blobs
	}
	h, err := New("rt-test", cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	startAtPresent(t, h)
	return h
}

// peerTicket returns a helpdesk on the running RT that logs into the returned buffer, and
// the ticket it opened for a new conversation with the player's first message.
func peerTicket(t *testing.T, blobs *memBlobs, text string) (*Helpdesk, *logBuffer, normalize.Ref) {
	t.Helper()
	h := newPeerHelpdesk(t, blobs)
	logs := &logBuffer{}
	h.log = slog.New(slog.NewTextHandler(logs, nil))
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, text))
	require.NoError(t, err)
	return h, logs, ticket
}

// startAtPresent points h's poll cursor at RT's newest transaction on the gateway's tickets,
// as a stored cursor of a gateway that ran until now would: the shared RT keeps the tickets
// of earlier tests, and replaying them all in every test would only add time. Tests of what
// a start reads set poller.loaded back to false.
func startAtPresent(t *testing.T, h *Helpdesk) {
	t.Helper()
	last, err := h.rt.lastTransaction(t.Context(), h.ticketsQuery())
	require.NoError(t, err)
	h.poller.mu.Lock()
	h.poller.loaded, h.poller.cursor = true, last
	h.poller.mu.Unlock()
}

// forgetCursor makes h's next poll read its start as on a real start.
func forgetCursor(h *Helpdesk) {
	h.poller.mu.Lock()
	h.poller.loaded, h.poller.cursor = false, 0
	h.poller.mu.Unlock()
}

// agentClient speaks REST2 as the staff user "agent".
func agentClient(t *testing.T) *client {
	env := rtPeer(t)
	return &client{base: env["RT_REST2_URL"], token: env["RT_AGENT_TOKEN"], http: &http.Client{Timeout: 30 * time.Second}}
}

// memBlobs is an in-memory connectors.Blobs that, like the gateway's, refuses content over
// max (when set) with ErrTooLarge and fills in the SHA-256 of what it stored.
type memBlobs struct {
	max    int64
	broken atomic.Bool // Put fails, as a full disk would
	mu     sync.Mutex
	m      map[string][]byte
}

func (b *memBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	if b.broken.Load() {
		return normalize.Attachment{}, fmt.Errorf("blob %q: write: no space left on device", name)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("blob %q: %w", name, err)
	}
	if b.max > 0 && int64(len(data)) > b.max {
		return normalize.Attachment{}, fmt.Errorf("blob %q is over %d bytes: %w", name, b.max, connectors.ErrTooLarge)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][]byte{}
	}
	ref := fmt.Sprintf("blob-%d", len(b.m)+1)
	b.m[ref] = data
	sum := sha256.Sum256(data)
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), BlobRef: ref}, nil
}

// MaxBytes makes memBlobs a sizeLimited store, as the gateway's is.
func (b *memBlobs) MaxBytes() int64 {
	if b.max > 0 {
		return b.max
	}
	return math.MaxInt64
}

func (b *memBlobs) Open(_ context.Context, ref string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[ref]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", ref)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// rewind moves h's poll cursor back to just before the first agent correspondence on ticket.
func rewind(t *testing.T, h *Helpdesk, ticket normalize.Ref) {
	t.Helper()
	txns, err := h.rt.transactions(t.Context(), mustInt(t, ticket), 0, "Correspond")
	require.NoError(t, err)
	for _, x := range txns {
		if !h.isGateway(x.Creator) {
			h.poller.mu.Lock()
			h.poller.loaded, h.poller.cursor = true, x.ID.int()-1
			h.poller.mu.Unlock()
			return
		}
	}
	t.Fatalf("ticket %s has no agent correspondence", ticket)
}

// pollUntil polls h until keep matches want messages in sink: the poller holds back
// transactions younger than the settle delay, so one poll right after an agent acted is not
// enough.
func pollUntil(t *testing.T, h *Helpdesk, sink *conformance.RecordingSink, keep func(normalize.Message) bool, want int) []normalize.Message {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		require.NoError(t, h.pollOnce(t.Context(), sink))
		got := sink.Where(keep)
		if len(got) >= want || time.Now().After(deadline) {
			require.Len(t, got, want, "messages in the sink after polling")
			return got
		}
		time.Sleep(h.cfg.PollInterval)
	}
}

// freeRTPort returns a free port for a new RT when RT_PORT is not set, no RT of ours runs,
// and rt.sh's default port is in use; "" keeps rt.sh's choice.
func freeRTPort(running bool) string {
	if running || os.Getenv("RT_PORT") != "" {
		return ""
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:18080"); err == nil {
		ln.Close()
		return ""
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
