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
		ShutdownTimeout: 30 * time.Second,
	}
	require.Equal(t, want, Default())
	require.NoError(t, Default().Validate())
}

func TestEmptyInputGivesDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "~\n", "{}\n"} {
		cfg, err := Parse([]byte(in), "", nil)
		require.NoError(t, err, "input %q", in)
		require.Equal(t, Default(), cfg, "input %q", in)
	}
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
