// Package gatewayproc runs the real gateway binary in tests and measuring commands: it builds
// it, writes a configuration pointing at the fakes (test/telegramfake, test/webhookreceiver),
// gives each run a PostgreSQL schema of its own, starts processes and waits for /readyz, and
// ends them with SIGKILL or SIGTERM. test/load and test/failover share it.
package gatewayproc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Build builds cmd/gateway as `make build` does into dir and returns the binary.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/casino-support/gateway/cmd/gateway")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// Setup is what the gateway's configuration points at.
type Setup struct {
	Port        int
	DataDir     string
	TelegramURL string
	Token       string
	ReceiverURL string
	Secret      string
	APIToken    string
	// PostgresDSN selects store.driver postgres; empty keeps the embedded SQLite.
	PostgresDSN string
	// WebChatSecret, when set, adds the web chat "web" at /chat signing visitor tokens with
	// it, as several replicas serving one chat must (each would otherwise generate its own),
	// with limits high enough for a test's many players, all from 127.0.0.1.
	WebChatSecret string
	// Lease and BackoffMax, when set, shorten delivery.lease and delivery.backoff_max, so a
	// test that SIGKILLs replicas waits seconds, not the default 2 minutes, for a dead
	// worker's conversations, and a helpdesk's failures are retried soon.
	Lease, BackoffMax time.Duration
	// WebhookBatch, above 0, sets the helpdesk's batch_events; 0 writes no key, so the
	// configuration still suits a gateway built before the key existed.
	WebhookBatch int
	// Workers, above 0, sets delivery.workers: how many conversations are delivered at once.
	Workers int
}

// Config is the gateway's YAML: one polling Telegram channel, one signed-webhook helpdesk
// taking every conversation, and otherwise the defaults an operator would run with.
func (s Setup) Config() string {
	store := "store: {driver: sqlite}\n"
	if s.PostgresDSN != "" {
		store = fmt.Sprintf("store: {driver: postgres, dsn: %q}\n", s.PostgresDSN)
	}
	var delivery []string
	if s.Lease > 0 {
		delivery = append(delivery, "lease: "+s.Lease.String())
	}
	if s.Workers > 0 {
		delivery = append(delivery, fmt.Sprintf("workers: %d", s.Workers))
	}
	if s.BackoffMax > 0 {
		delivery = append(delivery, "backoff_base: 200ms", "backoff_max: "+s.BackoffMax.String())
	}
	if len(delivery) > 0 {
		store += "delivery: {" + strings.Join(delivery, ", ") + "}\n"
	}
	webchat := ""
	if s.WebChatSecret != "" {
		webchat = fmt.Sprintf(`  - name: web
    type: webchat
    path: /chat
    token_secret: %q
    messages_per_minute: 600
    per_address: {new_visitors_per_minute: 600, messages_per_minute: 6000}
`, s.WebChatSecret)
	}
	batch := ""
	if s.WebhookBatch > 0 {
		batch = fmt.Sprintf("    batch_events: %d\n", s.WebhookBatch)
	}
	return fmt.Sprintf(`listen: 127.0.0.1:%[1]d
public_url: http://127.0.0.1:%[1]d
data_dir: %[2]q
log: {level: info, format: json}
shutdown_timeout: 5s
%[3]schannels:
  - name: tg
    type: telegram
    token: %[4]q
    api_url: %[5]s
    poll_timeout: 10s
%[9]shelpdesks:
  - name: desk
    type: webhook
    url: %[6]s
    secret: %[7]q
    api_token: %[8]q
%[10]sdefault_helpdesk: desk
`, s.Port, s.DataDir, store, s.Token, s.TelegramURL, s.ReceiverURL, s.Secret, s.APIToken, webchat, batch)
}

// WriteConfig writes s's configuration to path.
func (s Setup) WriteConfig(path string) error {
	if err := os.WriteFile(path, []byte(s.Config()), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// FreshSchema creates a schema of its own in the database dsn names and returns a DSN whose
// connections use it (search_path, sent by pgx as a run-time parameter), and a function that
// drops it. Only the URL form of dsn is accepted, so the parameter has one place to go.
func FreshSchema(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, errors.New("the PostgreSQL DSN must be a postgres:// URL")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "load_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("postgres: create schema: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// FreePort asks the kernel for a port nobody listens on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ready reports whether url (a /readyz) answers 200.
func Ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WaitReady waits up to a minute until base's /readyz answers 200.
func WaitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if Ready(ctx, base+"/readyz") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return errors.New("gateway did not become ready within a minute")
}

// QueuesEmpty reads gateway_queue_depth from /metrics: true when both directions are 0.
func QueuesEmpty(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gateway_queue_depth{") {
			continue
		}
		if !strings.HasSuffix(line, " 0") {
			return false
		}
		seen++
	}
	return seen > 0
}

// Process is one gateway replica: the binary with one configuration, started again on demand.
type Process struct {
	// Base is the replica's URL, http://127.0.0.1:port.
	Base string

	bin, configPath string
	log             io.Writer

	mu  sync.Mutex
	cmd *exec.Cmd
}

// NewProcess returns a replica running bin with configPath, listening on port, logging to log.
func NewProcess(bin, configPath string, port int, log io.Writer) *Process {
	return &Process{Base: fmt.Sprintf("http://127.0.0.1:%d", port), bin: bin, configPath: configPath, log: log}
}

// Start runs the gateway and waits until /readyz answers 200.
func (p *Process) Start(ctx context.Context) error {
	cmd := exec.Command(p.bin, "serve", "--config", p.configPath)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	return WaitReady(ctx, p.Base)
}

// Kill ends the running gateway with SIGKILL (no shutdown code runs) and waits for it.
func (p *Process) Kill() { p.end(os.Kill) }

// Terminate ends the running gateway with SIGTERM, as an operator stops it, and waits for it.
func (p *Process) Terminate() { p.end(os.Interrupt) }

func (p *Process) end(sig os.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	_ = cmd.Wait()
}

// Running reports whether the process was started and not ended since.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// PostEvent posts one helpdesk event (an agent's reply) to the webhook helpdesk's events API
// at url with token, as the operator's system does, and reports whether the gateway took it
// (2xx). The callers retry until it does.
func PostEvent(ctx context.Context, client *http.Client, url, token string, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
