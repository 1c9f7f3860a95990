package config

import (
	"net"
	"path/filepath"
	"strconv"
	"time"
)

// Default is the configuration used when no file is given: every default applied, the web
// chat "web" for players and the built-in inbox "inbox" for agents, which takes every
// conversation. It passes Validate. A configuration file, even an empty one, gets no implicit
// channels or helpdesks: it has only those it lists.
func Default() *Config {
	c := baseDefaults()
	// The embedded default: the web chat for players and the built-in inbox for agents, so
	// the whole flow runs on one machine with no external service and no credentials.
	web, box := new(Webchat), new(Inbox)
	web.presets()
	box.presets()
	c.Channels = []Channel{{Name: "web", Type: "webchat", Webchat: web}}
	c.Helpdesks = []Helpdesk{{Name: "inbox", Type: "inbox", Inbox: box}}
	c.DefaultHelpdesk = "inbox"
	c.deriveDefaults()
	return c
}

// baseDefaults returns the defaults that do not depend on other settings. The decoder fills
// the file's values over them, so a key that is absent or null keeps its default while an
// explicit value (even 0) replaces it and is validated.
func baseDefaults() *Config {
	return &Config{
		Listen:  ":8080",
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "json"},
		Store:   Store{Driver: "sqlite"},
		Attachments: Attachments{
			MaxBytes: 25 << 20,
		},
		Delivery: Delivery{
			Workers:     16,
			MaxAttempts: 12,
			BackoffBase: time.Second,
			BackoffMax:  10 * time.Minute,
			BatchSize:   50,
			Lease:       2 * time.Minute,
		},
		SLA: SLA{FirstResponse: FirstResponse{
			Chat:  5 * time.Minute,
			Email: 2 * time.Hour,
			Voice: time.Hour,
		}},
		ShutdownTimeout: 30 * time.Second,
	}
}

// defaulter is implemented by type settings with defaults of their own, in two steps like
// the Config's: presets and derive.
type defaulter interface {
	// presets sets the defaults that depend on nothing else, on fresh settings. The decoder
	// calls it before decoding the entry's keys, so that, as with baseDefaults, an explicit
	// value (even 0 or "") replaces a default and is validated instead of being taken for
	// "not set".
	presets()
	// derive fills, after decoding, the settings left unset whose defaults depend on other
	// settings (data_dir) or on name, the instance's name.
	derive(c *Config, name string)
}

// deriveDefaults fills the settings whose defaults depend on others, after the file has been
// decoded: the SQLite databases and the blobs go into data_dir, and public_url points at the
// port of listen.
func (c *Config) deriveDefaults() {
	if c.Store.Driver == "sqlite" && c.Store.DSN == "" && c.DataDir != "" {
		c.Store.DSN = Secret(filepath.Join(c.DataDir, "gateway.db"))
	}
	if c.Attachments.Dir == "" && c.DataDir != "" {
		c.Attachments.Dir = filepath.Join(c.DataDir, "blobs")
	}
	for i := range c.Channels {
		if s, ok := c.Channels[i].typeSettings(); ok {
			if d, ok := s.(defaulter); ok {
				d.derive(c, c.Channels[i].Name)
			}
		}
	}
	for i := range c.Helpdesks {
		if s, ok := c.Helpdesks[i].typeSettings(); ok {
			if d, ok := s.(defaulter); ok {
				d.derive(c, c.Helpdesks[i].Name)
			}
		}
	}
	if c.PublicURL == "" {
		// With an invalid listen there is no port to point at; Validate reports listen.
		if port, err := listenPort(c.Listen); err == nil {
			c.PublicURL = "http://" + net.JoinHostPort("localhost", strconv.Itoa(port))
		}
	}
}
