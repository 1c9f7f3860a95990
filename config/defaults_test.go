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
		Attachments: Attachments{Dir: filepath.Join("data", "blobs"), MaxBytes: 25 * 1024 * 1024, QuotaBytes: 10 << 30},
		Delivery: Delivery{
			Workers: 16, OutboundWorkers: 8, MaxAttempts: 12, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
			BatchSize: 50, Lease: 2 * time.Minute,
		},
		SLA: SLA{FirstResponse: FirstResponse{Chat: 5 * time.Minute, Email: 2 * time.Hour, Voice: time.Hour}, UrgentCallbackVIP: 1,
			Complex: Complex{After: time.Hour, Group: "senior", Priority: "urgent"}},
		Retention:       Retention{ClosedConversations: 365 * 24 * time.Hour, Attachments: 90 * 24 * time.Hour},
		ShutdownTimeout: 30 * time.Second,
		// No detection and no directory until configured; their tuning is ready.
		Language: Language{MinLetters: 20, Accuracy: "low"},
		PlayerDirectory: PlayerDirectory{Budget: 300 * time.Millisecond, Timeout: 10 * time.Second, CacheTTL: 10 * time.Minute,
			NegativeTTL: time.Minute},
		// The embedded default: the web chat for players, the built-in inbox for agents, each
		// with its type's defaults.
		Channels: []Channel{{Name: "web", Type: "webchat", Settings: &testWebchat{
			Path:        "/chat",
			Greetings:   map[string]string{"en": "Hi!"},
			TokenTTL:    time.Hour,
			UploadTypes: testUploadTypes,
		}}},
		Helpdesks: []Helpdesk{{Name: "inbox", Type: "inbox", Settings: &testInbox{
			Path:     "/inbox",
			Database: filepath.Join("data", "inbox.db"),
		}}},
		DefaultHelpdesk: "inbox",
		catalog:         testCatalog,
	}
	got := defaultConfig(t)
	requireSameConfig(t, want, got)
	require.NoError(t, got.Validate())
}

func TestDefaultNeedsItsTypes(t *testing.T) {
	_, err := Default(Catalog{})
	require.ErrorContains(t, err, "embedded default")
	require.ErrorContains(t, err, `unknown channel type "webchat"`)
}

func TestDefaultsAreFresh(t *testing.T) {
	a, b := defaultConfig(t), defaultConfig(t)
	a.Channels[0].Settings.(*testWebchat).UploadTypes[0] = "text/plain"
	a.Channels[0].Settings.(*testWebchat).Greetings["de"] = "Hallo"
	require.Equal(t, testUploadTypes[0], b.Channels[0].Settings.(*testWebchat).UploadTypes[0], "Default() must not share slices")
	require.NotContains(t, b.Channels[0].Settings.(*testWebchat).Greetings, "de", "Default() must not share maps")
	require.Equal(t, "image/png", testUploadTypes[0])
}

func TestNoInstancesIsDefaultWithoutInstances(t *testing.T) {
	want := defaultConfig(t)
	want.Channels, want.Helpdesks, want.DefaultHelpdesk = nil, nil, ""
	requireSameConfig(t, want, noInstances())
	require.NoError(t, noInstances().Validate())
}

// TestEmptyInputGivesNoInstances: a file, even an empty one, has only what it says; the
// embedded web chat and inbox are for running without a file.
func TestEmptyInputGivesNoInstances(t *testing.T) {
	for _, in := range []string{"", "\n", "~\n", "{}\n"} {
		cfg, err := parse([]byte(in), "", nil)
		require.NoError(t, err, "input %q", in)
		requireSameConfig(t, noInstances(), cfg)
	}
	cfg, err := parse([]byte("channels: []\nhelpdesks: []\n"), "", nil)
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
				d := defaultConfig(t)
				require.Equal(t, d.Channels[0].Settings, c.Channels[0].Settings)
				require.Equal(t, &testInbox{Path: "/inbox", Database: "/srv/gw/agents.db"}, c.Helpdesks[0].Settings,
					"the database is named after the instance")
			},
		},
		{
			name: "explicit type settings win",
			yaml: `channels:
  - name: site
    type: webchat
    path: /help
    greetings: {de: Hallo}
    token_ttl: 2h
    upload_types: []
helpdesks:
  - name: agents
    type: inbox
    path: /agents
    database: /srv/agents.db
default_helpdesk: agents
`,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, &testWebchat{Path: "/help", Greetings: map[string]string{"de": "Hallo"}, TokenTTL: 2 * time.Hour,
					UploadTypes: []string{}}, c.Channels[0].Settings,
					"an explicit empty list allows no uploads; it does not bring the default back; a map replaces the derived one")
				require.Equal(t, &testInbox{Path: "/agents", Database: "/srv/agents.db"}, c.Helpdesks[0].Settings)
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
			cfg, err := parse([]byte(tt.yaml), "", nil)
			require.NoError(t, err)
			tt.check(t, cfg)
		})
	}
}

func TestInvalidListenGetsNoPublicURLComplaint(t *testing.T) {
	_, err := parse([]byte("listen: localhost\n"), "", nil)
	requireProblems(t, err, `listen: want host:port such as ":8080", got "localhost"`)
}

func TestPostgresWithoutDSN(t *testing.T) {
	_, err := parse([]byte("store:\n  driver: postgres\n"), "", nil)
	requireProblems(t, err, "store.dsn: required for driver postgres")
}
