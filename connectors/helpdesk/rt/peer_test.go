package rt

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
)

// The integration tests run against a real Request Tracker 5 on loopback, started once per
// test process by test/peers/rt.sh (reused when already running).

const rtServer = "/usr/share/request-tracker5/libexec/rt-server"

var peer struct {
	once sync.Once
	env  map[string]string
	skip string
	err  error
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
		if out, err := exec.Command(script, "start").CombinedOutput(); err != nil {
			peer.err = fmt.Errorf("rt.sh start: %w\n%s", err, out)
			return
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
	cfg := config.RT{URL: env["RT_REST2_URL"], Token: config.Secret(env["RT_GATEWAY_TOKEN"]), Queue: env["RT_QUEUE"],
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
	return h
}

// agentClient speaks REST2 as the staff user "agent".
func agentClient(t *testing.T) *client {
	env := rtPeer(t)
	return &client{base: env["RT_REST2_URL"], token: env["RT_AGENT_TOKEN"], http: &http.Client{Timeout: 30 * time.Second}}
}

// memBlobs is an in-memory connectors.Blobs.
type memBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *memBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return normalize.Attachment{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][]byte{}
	}
	ref := fmt.Sprintf("blob-%d", len(b.m)+1)
	b.m[ref] = data
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: int64(len(data)), BlobRef: ref}, nil
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
