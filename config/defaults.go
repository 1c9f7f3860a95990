package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// embeddedDefault is the configuration used when no file is given: the web chat "web" for
// players and the built-in inbox "inbox" for agents, which takes every conversation, so the
// whole flow runs on one machine with no external service and no credentials.
const embeddedDefault = `
channels:
  - name: web
    type: webchat
helpdesks:
  - name: inbox
    type: inbox
default_helpdesk: inbox
`

// Default is the configuration used when no file is given: every default applied, and the
// embedded web chat and inbox, whose types cat must know. A configuration file, even an
// empty one, gets no implicit channels or helpdesks: it has only those it lists.
func Default(cat Catalog) (*Config, error) {
	cfg, err := Parse([]byte(embeddedDefault), "", nil, cat)
	if err != nil {
		return nil, fmt.Errorf("the embedded default configuration: %w", err)
	}
	return cfg, nil
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
			// Room for a mid-size operator's months of KYC documents and screenshots (at a few
			// hundred kilobytes each, tens of thousands of files) on a small volume, while a
			// flood of uploads stops well before the disk is full.
			QuotaBytes: 10 << 30,
		},
		Delivery: Delivery{
			Workers:         16,
			OutboundWorkers: 8,
			MaxAttempts:     12,
			BackoffBase:     time.Second,
			BackoffMax:      10 * time.Minute,
			BatchSize:       50,
			Lease:           2 * time.Minute,
		},
		SLA: SLA{FirstResponse: FirstResponse{
			Chat:  5 * time.Minute,
			Email: 2 * time.Hour,
			Voice: time.Hour,
		}, UrgentCallbackVIP: 1, Complex: Complex{After: time.Hour, Group: "senior", Priority: "urgent"}},
		// A year of closed conversations covers the complaints, disputes and chargebacks that
		// come back to a conversation; 90 days of files covers checking a KYC document and an
		// appeal, after which it lives in the operator's back office, not in the gateway.
		// Both are the storage limitation GDPR asks for; operators with longer duties (AML
		// record keeping) set longer periods or 0.
		Retention: Retention{
			ClosedConversations: 365 * 24 * time.Hour,
			Attachments:         90 * 24 * time.Hour,
		},
		ShutdownTimeout: 30 * time.Second,
		Language:        Language{MinLetters: 20, Accuracy: "low"},
		PlayerDirectory: PlayerDirectory{Budget: 300 * time.Millisecond, Timeout: 10 * time.Second, CacheTTL: 10 * time.Minute,
			NegativeTTL: time.Minute},
	}
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
	for _, e := range c.entries() {
		if d, ok := e.settings.(settings.Deriver); ok {
			d.Derive(settings.Env{Name: e.name, DataDir: c.DataDir})
		}
	}
	if c.PublicURL == "" {
		// With an invalid listen there is no port to point at; Validate reports listen.
		if port, err := listenPort(c.Listen); err == nil {
			c.PublicURL = "http://" + net.JoinHostPort("localhost", strconv.Itoa(port))
		}
	}
}
