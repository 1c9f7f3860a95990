package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Reusable fragments: a valid channel and helpdesk, so cases show only what they break.
const (
	chatChannel = `
  - name: chat
    type: loopback
    send_url: http://127.0.0.1:9000/send
`
	deskHelpdesk = `
helpdesks:
  - name: desk
    type: loopback
    url: http://127.0.0.1:9001/
default_helpdesk: desk
`
)

// TestParseErrors has one case per class of problem found while decoding, and the
// validation problems that only whole documents show.
func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600))

	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{
			name: "unknown key at top level",
			yaml: "listn: ':8080'\n",
			want: []string{"listn: unknown key"},
		},
		{
			name: "unknown nested key",
			yaml: "delivery:\n  workerz: 4\n",
			want: []string{"delivery.workerz: unknown key"},
		},
		{
			name: "unknown key in channel type settings",
			yaml: "channels:\n  - name: chat\n    type: loopback\n    sendurl: http://x/\n",
			want: []string{
				"channels[0].sendurl: unknown key",
				"channels[0].send_url: required",
			},
		},
		{
			name: "key of the type beside an unknown type is not judged",
			yaml: "channels:" + chatChannel + "  - name: tg\n    type: telgram\n    token: x\n",
			want: []string{`channels[1].type: unknown channel type "telgram" (known: loopback, telegram, webchat)`},
		},
		{
			name: "unknown helpdesk type",
			yaml: "helpdesks:\n  - name: zd\n    type: zendesk\ndefault_helpdesk: zd\n",
			want: []string{`helpdesks[0].type: unknown helpdesk type "zendesk" (known: inbox, loopback)`},
		},
		{
			name: "missing type",
			yaml: "channels:\n  - name: chat\n    send_url: http://x/\n",
			want: []string{"channels[0].type: required"},
		},
		{
			name: "duplicate key",
			yaml: "log:\n  level: info\n  level: debug\n",
			want: []string{"log.level: duplicate key (first on line 2)"},
		},
		{
			name: "merge key",
			yaml: "base: &b {level: info}\nlog:\n  <<: *b\n",
			want: []string{"base: unknown key", "log.<<: merge keys are not supported"},
		},
		{
			name: "weird key is bracketed in the path",
			yaml: "log:\n  'le vel': info\n",
			want: []string{`log["le vel"]: unknown key`},
		},
		{
			name: "integer type mismatch",
			yaml: "delivery:\n  workers: many\n",
			want: []string{`delivery.workers: want an integer, got "many"`},
		},
		{
			name: "integer out of range",
			yaml: "delivery:\n  workers: 99999999999999999999\n",
			want: []string{`delivery.workers: want an integer, got "99999999999999999999" (out of range)`},
		},
		{
			name: "mapping where a list belongs",
			yaml: "channels:\n  name: chat\n",
			want: []string{"channels: want a list, got a mapping"},
		},
		{
			name: "scalar where a mapping belongs",
			yaml: "log: info\n",
			want: []string{`log: want a mapping, got "info"`},
		},
		{
			name: "list where a string belongs",
			yaml: "routes:\n  - helpdesk: [a]\n",
			want: []string{"routes[0].helpdesk: want a string, got a list"},
		},
		{
			name: "bad duration",
			yaml: "delivery:\n  lease: 5\n",
			want: []string{`delivery.lease: want a duration such as "30s" or "2m", got "5"`},
		},
		{
			name: "days with a fraction or a sign",
			yaml: "retention:\n  attachments: 1.5d\n  closed_conversations: -5d\n",
			want: []string{
				`retention.attachments: want a duration such as "30s" or "2m", got "1.5d"`,
				`retention.closed_conversations: want a duration such as "30s" or "2m", got "-5d"`,
			},
		},
		{
			name: "unset environment variable",
			yaml: "admin:\n  token: ${ADMIN_TOKEN}\n",
			want: []string{"admin.token: environment variable ADMIN_TOKEN is not set"},
		},
		{
			name: "unset variable is not also reported as missing",
			yaml: "channels:\n  - name: chat\n    type: loopback\n    send_url: ${SEND_URL}\n",
			want: []string{"channels[0].send_url: environment variable SEND_URL is not set"},
		},
		{
			name: "variable expanded before conversion",
			yaml: "delivery:\n  workers: ${WORKERS}\n",
			env:  map[string]string{"WORKERS": "lots"},
			want: []string{`delivery.workers: want an integer, got "lots"`},
		},
		{
			name: "secret inline and from file",
			yaml: "admin:\n  token: abc\n  token_file: token\n",
			want: []string{"admin.token_file: token and token_file are both set; use one"},
		},
		{
			name: "unreadable secret file",
			yaml: "admin:\n  token_file: missing\n",
			want: []string{"admin.token_file: read secret file: open " + filepath.Join(dir, "missing")},
		},
		{
			name: "unreadable secret file is not also reported as missing",
			yaml: "channels:\n  - name: tg\n    type: telegram\n    token_file: missing\n",
			want: []string{"channels[0].token_file: read secret file: open " + filepath.Join(dir, "missing")},
		},
		{
			name: "unknown key beside a secret file",
			yaml: "admin:\n  token_fil: token\n",
			want: []string{"admin.token_fil: unknown key"},
		},
		{
			name: "duplicate name across channel and helpdesk",
			yaml: "channels:" + chatChannel + "helpdesks:\n  - name: chat\n    type: loopback\n    url: http://x/\ndefault_helpdesk: chat\n",
			want: []string{`helpdesks[0].name: duplicate of channels[0].name "chat"`},
		},
		{
			name: "duplicate channel name",
			yaml: "channels:" + chatChannel + chatChannel,
			want: []string{`channels[1].name: duplicate of channels[0].name "chat"`},
		},
		{
			name: "bad name",
			yaml: "channels:\n  - name: Chat\n    type: loopback\n    send_url: http://x/\n",
			want: []string{`channels[0].name: want lower-case letters`},
		},
		{
			name: "missing name",
			yaml: "channels:\n  - type: loopback\n    send_url: http://x/\n",
			want: []string{"channels[0].name: required"},
		},
		{
			name: "missing per-type field",
			yaml: "channels:" + chatChannel + "  - name: chat2\n    type: loopback\n",
			want: []string{"channels[1].send_url: required"},
		},
		{
			name: "bad url",
			yaml: "helpdesks:\n  - name: desk\n    type: loopback\n    url: ftp://x/\ndefault_helpdesk: desk\n",
			want: []string{`helpdesks[0].url: want an absolute http or https URL, got "ftp://x/"`},
		},
		{
			name: "relative url",
			yaml: "channels:\n  - name: chat\n    type: loopback\n    send_url: /send\n",
			want: []string{`channels[0].send_url: want an absolute http or https URL, got "/send"`},
		},
		{
			name: "unknown route helpdesk",
			yaml: deskHelpdesk + "routes:\n  - helpdesk: zendsk\n",
			want: []string{`routes[0].helpdesk: unknown helpdesk "zendsk"`},
		},
		{
			name: "unknown route channel and kind",
			yaml: "channels:" + chatChannel + deskHelpdesk + "routes:\n  - helpdesk: desk\n    match:\n      channels: [chat, caht]\n      kinds: [sms]\n",
			want: []string{
				`routes[0].match.channels[1]: unknown channel "caht"`,
				`routes[0].match.kinds[0]: unknown channel type "sms" (known: loopback, telegram, webchat)`,
			},
		},
		{
			name: "missing default_helpdesk",
			yaml: "helpdesks:\n  - name: desk\n    type: loopback\n    url: http://x/\n",
			want: []string{"default_helpdesk: required when helpdesks are configured"},
		},
		{
			name: "multiple problems reported together, in document order",
			yaml: `listen: 8080
log:
  level: loud
delivery:
  workers: many
  backoff_base: 1h
channels:
  - name: chat
    type: loopback
    sendurl: http://x/
routes:
  - helpdesk: zendsk
`,
			want: []string{
				`delivery.workers: want an integer, got "many"`,
				"channels[0].sendurl: unknown key",
				`listen: want host:port such as ":8080", got "8080"`,
				`log.level: unknown log level "loud" (known: debug, info, warn, error)`,
				"delivery.backoff_base: must not exceed delivery.backoff_max (10m0s), got 1h0m0s",
				"channels[0].send_url: required",
				`routes[0].helpdesk: unknown helpdesk "zendsk"`,
			},
		},
		{
			name: "explicit zero is not a default",
			yaml: "delivery:\n  workers: 0\nattachments:\n  max_bytes: -1\n",
			want: []string{
				"attachments.max_bytes: must be positive, got -1",
				"delivery.workers: must be positive, got 0",
			},
		},
		{
			name: "multiple documents",
			yaml: "listen: ':8080'\n---\nlisten: ':9090'\n",
			want: []string{"more than one YAML document; want exactly one"},
		},
		{
			name: "empty second document",
			yaml: "listen: ':8080'\n---\n",
			want: []string{"more than one YAML document; want exactly one"},
		},
		{
			name: "top level is a list",
			yaml: "- listen: ':8080'\n",
			want: []string{"want a mapping of settings at the top level, got a list"},
		},
		{
			name: "top level is a scalar",
			yaml: "hello\n",
			want: []string{`want a mapping of settings at the top level, got "hello"`},
		},
		{
			name: "syntax error",
			yaml: "log: [\n",
			want: []string{"yaml: line "},
		},
		{
			name: "alias bomb",
			yaml: aliasBomb(),
			want: []string{"document too large: more than 100000 values"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse([]byte(tt.yaml), dir, env(tt.env))
			requireProblems(t, err, tt.want...)
			require.Nil(t, cfg)
		})
	}
}

// aliasBomb repeats an alias of a route whose keywords are an alias of a long list: a few
// kilobytes that naive alias expansion turns into 500*500 values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("routes:\n  - &r\n    helpdesk: d\n    match:\n      keywords: &k [")
	for i := range 500 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("x")
	}
	b.WriteString("]\n")
	for range 500 {
		b.WriteString("  - *r\n")
	}
	return b.String()
}

// TestParseValues checks what valid documents decode to.
func TestParseValues(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crlf"), []byte("win\r\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "two"), []byte("two\n\n"), 0o600))
	abs := filepath.Join(t.TempDir(), "abs")
	require.NoError(t, os.WriteFile(abs, []byte("absolute"), 0o600))

	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name:  "variable",
			yaml:  "admin:\n  token: ${ADMIN_TOKEN}\n",
			env:   map[string]string{"ADMIN_TOKEN": "tok"},
			check: func(t *testing.T, c *Config) { require.Equal(t, "tok", c.Admin.Token.Value()) },
		},
		{
			name:  "escaped ${ is literal",
			yaml:  "admin:\n  token: a$${ADMIN_TOKEN}b\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "a${ADMIN_TOKEN}b", c.Admin.Token.Value()) },
		},
		{
			name:  "default of unset variable",
			yaml:  "log:\n  level: ${LOG_LEVEL:-warn}\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "warn", c.Log.Level) },
		},
		{
			name:  "default ignored when set",
			yaml:  "log:\n  level: ${LOG_LEVEL:-warn}\n",
			env:   map[string]string{"LOG_LEVEL": "debug"},
			check: func(t *testing.T, c *Config) { require.Equal(t, "debug", c.Log.Level) },
		},
		{
			name:  "variable in an integer",
			yaml:  "delivery:\n  workers: ${WORKERS:-4}\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, 4, c.Delivery.Workers) },
		},
		{
			name:  "secret file relative to the base directory, newline trimmed",
			yaml:  "admin:\n  token_file: token\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "s3cret", c.Admin.Token.Value()) },
		},
		{
			name:  "secret file with CRLF",
			yaml:  "admin:\n  token_file: crlf\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "win", c.Admin.Token.Value()) },
		},
		{
			name:  "only one trailing newline is trimmed",
			yaml:  "admin:\n  token_file: two\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "two\n", c.Admin.Token.Value()) },
		},
		{
			name:  "absolute secret file path, from a variable",
			yaml:  "admin:\n  token_file: ${TOKEN_FILE}\n",
			env:   map[string]string{"TOKEN_FILE": abs},
			check: func(t *testing.T, c *Config) { require.Equal(t, "absolute", c.Admin.Token.Value()) },
		},
		{
			name: "secret file in type settings",
			yaml: "channels:\n  - name: chat\n    type: loopback\n    send_url: https://x/\n    secret_file: token\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "s3cret", c.Channels[0].Settings.(*testLoopback).Secret.Value())
			},
		},
		{
			name: "null secret beside a secret file is not a conflict",
			yaml: "admin:\n  token:\n  token_file: token\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "s3cret", c.Admin.Token.Value())
			},
		},
		{
			name: "null keeps defaults",
			yaml: "listen:\nlog: ~\ndelivery:\n  lease: null\n",
			check: func(t *testing.T, c *Config) {
				requireSameConfig(t, noInstances(), c)
			},
		},
		{
			name: "aliases are followed",
			yaml: "public_url: &url http://127.0.0.1:9000/\nchannels:\n  - {name: a, type: loopback, send_url: *url}\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "http://127.0.0.1:9000/", c.Channels[0].Settings.(*testLoopback).SendURL)
			},
		},
		{
			name: "channel and helpdesk settings land in their type's field",
			yaml: "channels:" + chatChannel + deskHelpdesk + `routes:
  - helpdesk: desk
    match:
      channels: [chat]
      kinds: [loopback]
      languages: [de]
      min_vip: 2
      keywords: [kyc]
`,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, []Channel{{Name: "chat", Type: "loopback", Settings: &testLoopback{SendURL: "http://127.0.0.1:9000/send"}}}, c.Channels)
				require.Equal(t, []Helpdesk{{Name: "desk", Type: "loopback", Settings: &testDesk{URL: "http://127.0.0.1:9001/"}}}, c.Helpdesks)
				require.Equal(t, []Route{{Helpdesk: "desk", Match: Match{
					Channels: []string{"chat"}, Kinds: []string{"loopback"}, Languages: []string{"de"}, MinVIP: 2, Keywords: []string{"kyc"},
				}}}, c.Routes)
				require.Equal(t, "desk", c.DefaultHelpdesk)
			},
		},
		{
			name: "durations and quoted numbers",
			yaml: "shutdown_timeout: 1m30s\ndelivery:\n  workers: '8'\n  backoff_base: 250ms\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 90*time.Second, c.ShutdownTimeout)
				require.Equal(t, 8, c.Delivery.Workers)
				require.Equal(t, 250*time.Millisecond, c.Delivery.BackoffBase)
			},
		},
		{
			name: "durations in days, and 0 to keep and store without limit",
			yaml: "retention:\n  closed_conversations: 90d\n  attachments: 1d12h\nattachments:\n  quota_bytes: 0\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, Retention{ClosedConversations: 90 * 24 * time.Hour, Attachments: 36 * time.Hour}, c.Retention)
				require.Zero(t, c.Attachments.QuotaBytes, "an explicit 0 replaces the default")
			},
		},
		{
			name:  "comments only",
			yaml:  "# nothing here\n",
			check: func(t *testing.T, c *Config) { requireSameConfig(t, noInstances(), c) },
		},
		{
			name:  "explicit empty document",
			yaml:  "---\n",
			check: func(t *testing.T, c *Config) { requireSameConfig(t, noInstances(), c) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse([]byte(tt.yaml), dir, env(tt.env))
			require.NoError(t, err)
			tt.check(t, cfg)
		})
	}
}

func TestLoadResolvesSecretFilesNextToTheConfig(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600))
	path := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(path, []byte("admin:\n  token_file: token\n"), 0o600))

	cfg, err := Load(path, env(nil), testCatalog)
	require.NoError(t, err)
	require.Equal(t, "s3cret", cfg.Admin.Token.Value())
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), env(nil), testCatalog)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestKeys(t *testing.T) {
	keys := Keys(testCatalog)
	for _, k := range []string{"listen", "delivery.workers", "sla.first_response.vip", "routes[].match.kinds",
		"channels[].name", "channels[].type", "channels[].send_url", "channels[].greetings", "helpdesks[].agents[].password_hash"} {
		require.Contains(t, keys, k)
	}
	require.NotContains(t, keys, "admin.token_file", "a *_file alternative is not a key of its own")
	require.NotContains(t, keys, "channels[].settings", "settings sit in the entry's own mapping")
}
