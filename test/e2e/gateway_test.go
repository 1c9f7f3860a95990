// Package e2e builds the real gateway binary and drives it over HTTP through the loopback
// test channel and helpdesk, killing it on purpose to prove nothing is lost or doubled.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/loopback"
)

const adminToken = "e2e-admin-token"

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// gatewayBinary builds cmd/gateway once per test process.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gateway-e2e-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "gateway")
		args := []string{"build", "-o", buildOnce.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/casino-support/gateway/cmd/gateway")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildOnce.err)
	return buildOnce.path
}

// env is one gateway under test with its fake remotes.
type env struct {
	t          *testing.T
	bin        string
	configPath string
	base       string // http://127.0.0.1:port
	channel    *loopback.FakeChannelRemote
	helpdesk   *loopback.FakeHelpdeskRemote
	logs       *lockedBuffer

	mu  sync.Mutex
	cmd *exec.Cmd
}

func newEnv(t *testing.T, delivery string) *env {
	t.Helper()
	return newEnvWith(t, delivery, func(channelURL string) string {
		return "  - name: chat\n    type: loopback\n    send_url: " + channelURL + "/send\n"
	})
}

// newEnvWith writes a config whose channels section channels returns (given the fake channel
// remote's URL) and whose helpdesk is the loopback one, bound to the fake helpdesk remote.
func newEnvWith(t *testing.T, delivery string, channels func(channelURL string) string) *env {
	t.Helper()
	e := &env{channel: loopback.NewFakeChannelRemote(""), helpdesk: loopback.NewFakeHelpdeskRemote("")}
	chSrv := httptest.NewServer(e.channel)
	hdSrv := httptest.NewServer(e.helpdesk)
	t.Cleanup(chSrv.Close)
	t.Cleanup(hdSrv.Close)
	return e.configure(t, fmt.Sprintf(`delivery:
%s
channels:
%shelpdesks:
  - name: desk
    type: loopback
    url: %s
default_helpdesk: desk
`, delivery, channels(chSrv.URL), hdSrv.URL))
}

// configure makes e a gateway on a free port with its own data directory, whose
// configuration is the common part (listen, data_dir, log, admin token, shutdown) and then
// connectors, the YAML of the channels, helpdesks and whatever else the test needs.
func (e *env) configure(t *testing.T, connectors string) *env {
	t.Helper()
	e.t, e.bin, e.logs = t, gatewayBinary(t), &lockedBuffer{}
	port := freePort(t)
	e.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	dir := t.TempDir()
	e.configPath = filepath.Join(dir, "gateway.yaml")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
public_url: %s
data_dir: %s
log: {level: info, format: json}
admin: {token: %s}
shutdown_timeout: 10s
%s`, port, e.base, filepath.Join(dir, "data"), adminToken, connectors)
	require.NoError(t, os.WriteFile(e.configPath, []byte(cfg), 0o600))
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpStacks()
		}
		e.kill()
		if t.Failed() {
			t.Logf("gateway log:\n%s", e.logs.String())
			if path, err := e.logs.save(t.Name()); err == nil {
				t.Logf("the whole gateway log, with its goroutines when the test failed: %s", path)
			}
		}
	})
	return e
}

func (e *env) start() {
	e.t.Helper()
	require.NoError(e.t, e.startErr())
}

// startErr starts the gateway and waits until it is ready; safe to call from any goroutine.
func (e *env) startErr() error {
	e.mu.Lock()
	cmd := exec.Command(e.bin, "serve", "--config", e.configPath)
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all") // dumpStacks shows every goroutine
	if err := cmd.Start(); err != nil {
		e.mu.Unlock()
		return fmt.Errorf("start gateway: %w", err)
	}
	e.cmd = cmd
	e.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("gateway did not become ready within 30s")
}

// dumpStacks makes a running gateway print its goroutines to the log (SIGQUIT) and waits for
// it to exit: a test that failed waiting for the gateway shows where it was stuck.
func (e *env) dumpStacks() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil || e.cmd.Process.Signal(syscall.SIGQUIT) != nil {
		return
	}
	exited := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill() // no dump came; kill would otherwise Wait a second time
		<-exited
	}
	e.cmd = nil
}

// kill stops the gateway with SIGKILL: no shutdown code runs.
func (e *env) kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	_ = e.cmd.Wait()
	e.cmd = nil
}

// terminate sends SIGTERM and returns the exit code.
func (e *env) terminate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	require.NoError(e.t, e.cmd.Process.Signal(syscall.SIGTERM))
	err := e.cmd.Wait()
	e.cmd = nil
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	require.NoError(e.t, err)
	return 0
}

// sendPlayer posts one player message until the gateway acknowledges it, retrying through
// restarts as a real channel does.
func (e *env) sendPlayer(ctx context.Context, address, id, text string) error {
	body, _ := json.Marshal(map[string]any{"messages": []map[string]any{{"id": id, "address": address, "text": text, "name": "Player " + address, "language": "en"}}})
	return retry(ctx, func() error {
		resp, err := http.Post(e.base+"/hooks/chat", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("hook answered %d: %s", resp.StatusCode, b)
		}
		return nil
	})
}

func (e *env) agentReply(ctx context.Context, ticket, replyID, text string) error {
	return e.agentReplyTo(ctx, ticket, replyID, text, "")
}

// agentReplyTo answers a specific message, named by the helpdesk's ID of it.
func (e *env) agentReplyTo(ctx context.Context, ticket, replyID, text, replyTo string) error {
	return retry(ctx, func() error {
		return loopback.AgentReply(ctx, e.base+"/hooks/desk", "", loopback.Reply{ReplyID: replyID, Ticket: ticket, Text: text, Agent: "Agent Smith", ReplyTo: replyTo})
	})
}

func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (e *env) api(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	if out != nil {
		b, err := io.ReadAll(resp.Body)
		require.NoError(e.t, err)
		require.NoError(e.t, json.Unmarshal(b, out), "%s %s answered %d: %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > 20000 {
		s = "...\n" + s[len(s)-20000:]
	}
	return s
}

// save writes the whole log to a file of its own beside the test's temporary directories,
// which outlives the test, and returns its path.
func (l *lockedBuffer) save(test string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.CreateTemp("", "gateway-e2e-"+strings.NewReplacer("/", "-", " ", "-").Replace(test)+"-*.log")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.Write(l.b.Bytes())
	return f.Name(), err
}

func (l *lockedBuffer) Contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.b.String(), sub)
}
