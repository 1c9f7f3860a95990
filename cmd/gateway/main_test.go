package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "valid.yaml")
	require.NoError(t, os.WriteFile(valid, []byte(`
channels:
  - {name: chat, type: loopback, send_url: "http://127.0.0.1:9/send"}
helpdesks:
  - {name: desk, type: loopback, url: "http://127.0.0.1:9"}
default_helpdesk: desk
`), 0o600))
	portOnly := filepath.Join(dir, "port-only.yaml")
	require.NoError(t, os.WriteFile(portOnly, []byte("listen: 127.0.0.1:9090\n"), 0o600))
	chatOnly := filepath.Join(dir, "chat-only.yaml")
	require.NoError(t, os.WriteFile(chatOnly, []byte("channels: [{name: web, type: webchat}]\n"), 0o600))
	invalid := filepath.Join(dir, "invalid.yaml")
	require.NoError(t, os.WriteFile(invalid, []byte(`
channels:
  - {name: chat, type: loopback}
  - {name: chat, type: telgram}
routes:
  - {helpdesk: zendsk}
delivery: {workers: many}
`), 0o600))

	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout []string
		stderr []string
	}{
		{"no command", nil, "", 2, nil, []string{"Usage:"}},
		{"unknown command", []string{"serv"}, "", 2, nil, []string{`unknown command "serv"`}},
		{"version", []string{"version"}, "", 0, []string{"gateway "}, nil},
		{"help", []string{"help"}, "", 0, []string{"gateway serve"}, nil},
		{"check-config valid", []string{"check-config", "--config", valid}, "", 0, []string{"OK (1 channels, 1 helpdesks, 0 routes)"}, nil},
		{"check-config warns of a gateway nobody reaches", []string{"check-config", "--config", portOnly}, "", 0,
			[]string{"OK (0 channels, 0 helpdesks, 0 routes)"}, []string{"warning: no channels configured: players cannot reach this gateway"}},
		{"check-config warns of messages no agent sees", []string{"check-config", "--config", chatOnly}, "", 0,
			[]string{"OK (1 channels, 0 helpdesks, 0 routes)"}, []string{"warning: no helpdesk configured"}},
		{"check-config lists every problem", []string{"check-config", "--config", invalid}, "", 1, nil, []string{
			"channels[0].send_url: required",
			`channels[1].type: unknown channel type "telgram"`,
			`routes[0].helpdesk: unknown helpdesk "zendsk"`,
			"delivery.workers:",
		}},
		{"check-config needs a file", []string{"check-config"}, "", 2, nil, []string{"--config FILE is required"}},
		{"check-config missing file", []string{"check-config", "--config", filepath.Join(dir, "nope.yaml")}, "", 1, nil, []string{"nope.yaml"}},
		{"replay needs a target", []string{"replay", "--config", valid}, "", 2, nil, []string{"exactly one of --conversation ID or --all"}},
		{"replay not both", []string{"replay", "--config", valid, "--all", "--conversation", "c1"}, "", 2, nil, []string{"exactly one"}},
		{"replay without a database", []string{"replay", "--config", valid, "--all"}, "", 1, nil, []string{"gateway.db"}},
		{"serve with an invalid config", []string{"serve", "--config", invalid}, "", 1, nil, []string{"channels[0].send_url: required"}},
		{"inbox-password needs a user", []string{"inbox-password"}, "", 2, nil, []string{"--user NAME is required"}},
		{"inbox-password needs an inbox", []string{"inbox-password", "--config", valid, "--user", "bob"}, "", 2, nil, []string{"no inbox helpdesk"}},
		{"inbox-password generates", []string{"inbox-password", "--user", "bob"}, "", 0, []string{"password of bob set to: "}, nil},
		{"inbox-password from stdin", []string{"inbox-password", "--user", "bob", "--password-stdin"}, "correct horse battery\n", 0, []string{"password of bob changed"}, nil},
		{"inbox-password too short", []string{"inbox-password", "--user", "bob", "--password-stdin"}, "short\n", 1, nil, []string{"at least 12 characters"}},
		{"inbox-password hash", []string{"inbox-password", "--hash", "--password-stdin"}, "correct horse battery\n", 0, []string{"$2a$"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(dir) // the default data_dir is relative
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", &stdout, &stderr)
			for _, s := range tt.stdout {
				require.Contains(t, stdout.String(), s)
			}
			for _, s := range tt.stderr {
				require.Contains(t, stderr.String(), s)
			}
		})
	}
}
