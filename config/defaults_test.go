package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefault(t *testing.T) {
	want := &Config{
		Listen:      ":8080",
		PublicURL:   "http://localhost:8080",
		DataDir:     "./data",
		Log:         Log{Level: "info", Format: "json"},
		Store:       Store{Driver: "sqlite", DSN: Secret(filepath.Join("data", "gateway.db"))},
		Attachments: Attachments{Dir: filepath.Join("data", "blobs"), MaxBytes: 25 * 1024 * 1024},
		Delivery: Delivery{
			Workers: 16, MaxAttempts: 12, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
			BatchSize: 50, Lease: 2 * time.Minute,
		},
		SLA:             SLA{FirstResponse: FirstResponse{Chat: 5 * time.Minute, Email: 2 * time.Hour, Voice: time.Hour}},
		ShutdownTimeout: 30 * time.Second,
		// The embedded default: the web chat for players, the built-in inbox for agents.
		Channels: []Channel{{Name: "web", Type: "webchat", Webchat: &Webchat{
			Path:              "/chat",
			Title:             "Support",
			Greetings:         map[string]string{"en": "Hi! How can we help you today?"},
			Color:             "#0b5fff",
			TokenTTL:          720 * time.Hour,
			MessagesPerMinute: 20,
			UploadTypes:       []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"},
		}}},
		Helpdesks: []Helpdesk{{Name: "inbox", Type: "inbox", Inbox: &Inbox{
			Path:       "/inbox",
			Database:   filepath.Join("data", "inbox.db"),
			SessionTTL: 12 * time.Hour,
		}}},
		DefaultHelpdesk: "inbox",
	}
	require.Equal(t, want, Default())
	require.NoError(t, Default().Validate())
}

func TestDefaultsAreFresh(t *testing.T) {
	a, b := Default(), Default()
	a.Channels[0].Webchat.UploadTypes[0] = "text/plain"
	a.Channels[0].Webchat.Greetings["de"] = "Hallo"
	require.Equal(t, DefaultUploadTypes[0], b.Channels[0].Webchat.UploadTypes[0], "Default() must not share slices")
	require.NotContains(t, b.Channels[0].Webchat.Greetings, "de", "Default() must not share maps")
	require.Equal(t, "image/png", DefaultUploadTypes[0])
}

func TestNoInstancesIsDefaultWithoutInstances(t *testing.T) {
	want := Default()
	want.Channels, want.Helpdesks, want.DefaultHelpdesk = nil, nil, ""
	require.Equal(t, want, noInstances())
	require.NoError(t, noInstances().Validate())
}

// TestEmptyInputGivesNoInstances: a file, even an empty one, has only what it says; the
// embedded web chat and inbox are for running without a file.
func TestEmptyInputGivesNoInstances(t *testing.T) {
	for _, in := range []string{"", "\n", "~\n", "{}\n"} {
		cfg, err := Parse([]byte(in), "", nil)
		require.NoError(t, err, "input %q", in)
		require.Equal(t, noInstances(), cfg, "input %q", in)
	}
	cfg, err := Parse([]byte("channels: []\nhelpdesks: []\n"), "", nil)
	require.NoError(t, err)
	require.Empty(t, cfg.Channels)
	require.Empty(t, cfg.Helpdesks)
	require.Empty(t, cfg.DefaultHelpdesk)
}

func TestDerivedDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "data_dir moves the database and the blobs",
			yaml: "data_dir: /var/lib/gateway/\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "/var/lib/gateway/gateway.db", c.Store.DSN.Value())
				require.Equal(t, "/var/lib/gateway/blobs", c.Attachments.Dir)
			},
		},
		{
			name: "explicit values win",
			yaml: "store:\n  dsn: /tmp/x.db\nattachments:\n  dir: /srv/blobs\npublic_url: https://support.example\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "/tmp/x.db", c.Store.DSN.Value())
				require.Equal(t, "/srv/blobs", c.Attachments.Dir)
				require.Equal(t, "https://support.example", c.PublicURL)
			},
		},
		{
			name:  "public_url follows the port of listen",
			yaml:  "listen: 127.0.0.1:9090\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "http://localhost:9090", c.PublicURL) },
		},
		{
			name: "type settings get their defaults",
			yaml: "data_dir: /srv/gw\nchannels:\n  - {name: site, type: webchat}\nhelpdesks:\n  - {name: agents, type: inbox}\ndefault_helpdesk: agents\n",
			check: func(t *testing.T, c *Config) {
				d := Default()
				require.Equal(t, d.Channels[0].Webchat, c.Channels[0].Webchat)
				require.Equal(t, "/inbox", c.Helpdesks[0].Inbox.Path)
				require.Equal(t, "/srv/gw/agents.db", c.Helpdesks[0].Inbox.Database, "the database is named after the instance")
				require.Equal(t, 12*time.Hour, c.Helpdesks[0].Inbox.SessionTTL)
			},
		},
		{
			name: "explicit type settings win",
			yaml: `channels:
  - name: site
    type: webchat
    path: /help
    title: Hilfe
    greetings: {de: Hallo}
    color: "#112233"
    token_ttl: 1h
    messages_per_minute: 5
    upload_types: []
helpdesks:
  - name: agents
    type: inbox
    path: /agents
    database: /srv/agents.db
    session_ttl: 1h
default_helpdesk: agents
`,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, &Webchat{Path: "/help", Title: "Hilfe", Greetings: map[string]string{"de": "Hallo"}, Color: "#112233",
					TokenTTL: time.Hour, MessagesPerMinute: 5, UploadTypes: []string{}}, c.Channels[0].Webchat,
					"an explicit empty list allows no uploads; it does not bring the default back")
				require.Equal(t, &Inbox{Path: "/agents", Database: "/srv/agents.db", SessionTTL: time.Hour}, c.Helpdesks[0].Inbox)
			},
		},
		{
			name:  "postgres gets no sqlite path",
			yaml:  "store:\n  driver: postgres\n  dsn: postgres://gw@db/gw\n",
			check: func(t *testing.T, c *Config) { require.Equal(t, "postgres://gw@db/gw", c.Store.DSN.Value()) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), "", nil)
			require.NoError(t, err)
			tt.check(t, cfg)
		})
	}
}

func TestInvalidListenGetsNoPublicURLComplaint(t *testing.T) {
	_, err := Parse([]byte("listen: localhost\n"), "", nil)
	requireProblems(t, err, `listen: want host:port such as ":8080", got "localhost"`)
}

func TestPostgresWithoutDSN(t *testing.T) {
	_, err := Parse([]byte("store:\n  driver: postgres\n"), "", nil)
	requireProblems(t, err, "store.dsn: required for driver postgres")
}
