package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/normalize"
)

func TestInboxPasswordCommand(t *testing.T) {
	one := []config.Helpdesk{{Name: "inbox", Type: "inbox", Settings: &inbox.Config{}}}
	two := append(one, config.Helpdesk{Name: "vip-desk", Type: "inbox", Settings: &inbox.Config{}},
		config.Helpdesk{Name: "rt", Type: "rt"})
	tests := []struct {
		name      string
		file      string
		helpdesks []config.Helpdesk
		inbox     string
		want      string
	}{
		{"embedded default", "", one, "inbox", "gateway inbox-password"},
		{"configuration file", "/etc/gateway/gateway.yaml", one, "inbox", "gateway inbox-password --config /etc/gateway/gateway.yaml"},
		{"relative file, as serve was given it", "gw.yaml", one, "inbox", "gateway inbox-password --config gw.yaml"},
		{"file with a space", "/srv/my configs/gw.yaml", one, "inbox", "gateway inbox-password --config '/srv/my configs/gw.yaml'"},
		{"file with a quote", "/srv/bob's/gw.yaml", one, "inbox", `gateway inbox-password --config '/srv/bob'\''s/gw.yaml'`},
		{"file with shell syntax", "/srv/$HOME;rm/gw.yaml", one, "inbox", "gateway inbox-password --config '/srv/$HOME;rm/gw.yaml'"},
		{"several inboxes name theirs", "/etc/gateway.yaml", two, "vip-desk",
			"gateway inbox-password --config /etc/gateway.yaml --helpdesk vip-desk"},
		{"other helpdesks do not count", "", append(one, config.Helpdesk{Name: "rt", Type: "rt"}), "inbox", "gateway inbox-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Helpdesks: tt.helpdesks}
			require.Equal(t, tt.want, inboxPasswordCommand(cfg, tt.file, normalize.InstanceName(tt.inbox)))
		})
	}
}

var passwordHint = regexp.MustCompile(`set a new one with: (.*) --user NAME\)`)

// TestServePrintsThePasswordCommandOfItsConfig: serve started with --config FILE, or with
// GATEWAY_CONFIG, prints a restart line whose command reads FILE, and that command changes the
// inbox database the gateway uses, not the default one under ./data.
func TestServePrintsThePasswordCommandOfItsConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password"), bcrypt.MinCost)
	require.NoError(t, err)
	tests := []struct {
		name string
		args func(file string) []string
		env  func(file string) lookupEnv
	}{
		{"--config", func(file string) []string { return []string{"--config", file} },
			func(string) lookupEnv { return noEnv }},
		{"GATEWAY_CONFIG", func(string) []string { return nil },
			func(file string) lookupEnv {
				return func(k string) (string, bool) { return file, k == "GATEWAY_CONFIG" }
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "gateway-data")
			file := filepath.Join(dir, "gateway.yaml")
			require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`
listen: 127.0.0.1:0
data_dir: %s
log: {format: json}
channels: [{name: web, type: webchat}]
helpdesks:
  - name: inbox
    type: inbox
    agents:
      - {name: alice, password_hash: %q}
default_helpdesk: inbox
`, data, hash)), 0o600))

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout bytes.Buffer
			logs := newStartedLog()
			code := make(chan int, 1)
			go func() { code <- serveCmd(ctx, tt.args(file), tt.env(file), &stdout, logs) }()
			select {
			case <-logs.started:
			case c := <-code:
				t.Fatalf("serve exited %d before it started:\n%s", c, logs)
			}
			cancel()
			require.Zero(t, <-code, "serve's exit code")

			m := passwordHint.FindStringSubmatch(stdout.String())
			require.NotNil(t, m, "no password hint in:\n%s", stdout.String())
			require.Equal(t, "gateway inbox-password --config "+file, m[1])

			// The operator pastes the command (the path has no space, so Fields splits it as a shell).
			args := append(strings.Fields(strings.TrimPrefix(m[1], "gateway ")), "--user", "bob", "--password-stdin")
			var out, errOut bytes.Buffer
			require.Zero(t, run(t.Context(), args, strings.NewReader("correct horse battery\n"), &out, &errOut), errOut.String())
			require.Equal(t, []string{"alice", "bob"}, inboxAgents(t, filepath.Join(data, "inbox.db")),
				"the command changed the inbox database serve uses")
		})
	}
}

func noEnv(string) (string, bool) { return "", false }

// inboxAgents lists the agents of the inbox database at path.
func inboxAgents(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM agents ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}
