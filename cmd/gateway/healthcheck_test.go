package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadyURL(t *testing.T) {
	tests := []struct {
		listen, want, err string
	}{
		{":8080", "http://127.0.0.1:8080/readyz", ""},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/readyz", ""},
		{"[::]:8080", "http://127.0.0.1:8080/readyz", ""},
		{"127.0.0.1:8080", "http://127.0.0.1:8080/readyz", ""},
		{"10.1.2.3:8080", "http://10.1.2.3:8080/readyz", ""},
		{"[::1]:8080", "http://[::1]:8080/readyz", ""},
		{"localhost:8080", "http://localhost:8080/readyz", ""},
		{":0", "", "port 0"},
		{"8080", "", "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			got, err := readyURL(tt.listen)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestHealthcheck runs the subcommand against a stand-in for the gateway's listener on a free
// port, configured as an operator would: listen on all interfaces, the file named by
// GATEWAY_CONFIG, as in the container.
func TestHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	// What /readyz answers: a status code, or -1 for no answer until the client gives up.
	var status atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		switch code := int(status.Load()); code {
		case http.StatusOK:
			w.Write([]byte("ready\n"))
		case -1:
			<-r.Context().Done()
		default:
			http.Error(w, "not ready: store: disk I/O error", code)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	allInterfaces := write("all.yaml", fmt.Sprintf("listen: \":%d\"\n", port))
	loopback := write("loopback.yaml", fmt.Sprintf("listen: 127.0.0.1:%d\n", port))
	closed := write("closed.yaml", fmt.Sprintf("listen: 127.0.0.1:%d\n", freeTCPPort(t)))
	invalid := write("invalid.yaml", "listen: nowhere\n")

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		status int
		code   int
		stdout string
		stderr string
	}{
		{"ready, config from GATEWAY_CONFIG", []string{"healthcheck"}, map[string]string{"GATEWAY_CONFIG": allInterfaces}, http.StatusOK, 0,
			fmt.Sprintf("http://127.0.0.1:%d/readyz: ready", port), ""},
		{"ready, config from --config", []string{"healthcheck", "--config", loopback}, nil, http.StatusOK, 0, "ready", ""},
		{"not ready tells why", []string{"healthcheck", "--config", loopback}, nil, http.StatusServiceUnavailable, 1,
			"", "503 Service Unavailable: not ready: store: disk I/O error"},
		{"no answer in time", []string{"healthcheck", "--config", loopback, "--timeout", "200ms"}, nil, -1, 1, "", "deadline exceeded"},
		{"nothing listening", []string{"healthcheck", "--config", closed}, nil, http.StatusOK, 1, "", "connection refused"},
		{"invalid config", []string{"healthcheck", "--config", invalid}, nil, http.StatusOK, 1, "", "listen"},
		{"bad flag", []string{"healthcheck", "--timeout", "soon"}, nil, http.StatusOK, 2, "", "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status.Store(int64(tt.status))
			env := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := healthcheckCmd(context.Background(), tt.args[1:], env, &stdout, &stderr)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", &stdout, &stderr)
			require.Less(t, time.Since(start), 6*time.Second)
			require.Contains(t, stdout.String(), tt.stdout)
			require.Contains(t, stderr.String(), tt.stderr)
			if tt.code != 0 {
				require.Empty(t, strings.TrimSpace(stdout.String()))
			}
		})
	}
}

// TestHealthcheckAgainstServe asks a real gateway, started from the same file as the check
// reads, as a container healthcheck does: not ready before it starts, ready while it serves,
// not ready once it has stopped.
func TestHealthcheckAgainstServe(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: ":%d"
data_dir: %s
channels: [{name: web, type: webchat}]
helpdesks: [{name: inbox, type: inbox}]
default_helpdesk: inbox
shutdown_timeout: 5s
`, freeTCPPort(t), filepath.Join(dir, "data"))), 0o600))
	env := func(k string) (string, bool) {
		if k == "GATEWAY_CONFIG" {
			return cfgPath, true
		}
		return "", false
	}
	check := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := healthcheckCmd(context.Background(), []string{"--timeout", "2s"}, env, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}

	code, out := check()
	require.Equal(t, 1, code, "nothing serves yet: %s", out)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan int, 1)
	var logs bytes.Buffer
	go func() { served <- serveCmd(ctx, nil, env, io.Discard, &logs) }()
	require.Eventually(t, func() bool { code, _ := check(); return code == 0 }, 30*time.Second, 50*time.Millisecond, "ready while serving")

	stop()
	select {
	case code := <-served:
		require.Equal(t, 0, code, "serve: %s", &logs)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	code, out = check()
	require.Equal(t, 1, code, "stopped: %s", out)
}

// freeTCPPort returns a loopback port that nothing listens on right now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
