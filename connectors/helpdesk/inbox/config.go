package inbox

import (
	"fmt"
	"path/filepath"
	"regexp"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is the built-in agent inbox at Path.
type Config struct {
	// Path is where agents sign in. Default /inbox.
	Path string `yaml:"path"`
	// Database holds agents, sessions and inbox state. Default <data_dir>/<name>.db.
	Database string `yaml:"database"`
	// Agents from the configuration; with none configured and none stored, the first start
	// creates "admin" with a random password and prints it once.
	Agents []Agent `yaml:"agents"`
	// SessionTTL is how long an agent stays signed in. Default 12h.
	SessionTTL time.Duration `yaml:"session_ttl"`
}

// Agent is one agent account from the configuration.
type Agent struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"display_name"`
	// PasswordHash is a bcrypt hash (gateway inbox-password prints one).
	PasswordHash settings.Secret `yaml:"password_hash"`
	// Admin lets the agent open the admin pages (pairing a WhatsApp linked device).
	Admin bool `yaml:"admin"`
}

// bcryptPattern is the modular crypt format of bcrypt with a cost from 4 to 31.
var bcryptPattern = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)

// DefaultConfig returns the settings with their defaults; Database gets its default from
// Derive, in data_dir.
func DefaultConfig() *Config {
	return &Config{Path: "/inbox", SessionTTL: 12 * time.Hour}
}

// Derive puts the database into data_dir, named after the instance.
func (c *Config) Derive(env settings.Env) {
	if c.Database == "" && env.DataDir != "" {
		c.Database = filepath.Join(env.DataDir, env.Name+".db")
	}
}

// ClosedTicketPolicy implements settings.ClosedTicketPolicy: the inbox's tickets are the
// gateway's conversations, so a player writing after an agent closed one reopens it, in the
// list and the thread, with its whole history (issue 18).
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return settings.ClosedReopen }

// PagePath implements settings.PageOwner.
func (c *Config) PagePath() string { return c.Path }

// DatabaseFile implements settings.FileOwner.
func (c *Config) DatabaseFile() string { return c.Database }

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckPagePath(p, "path", c.Path)
	// Empty only when data_dir is, or in a Config built in code without defaults.
	if c.Database == "" {
		p.Add("database", "required")
	}
	if c.SessionTTL < time.Minute {
		p.Add("session_ttl", "must be at least 1m")
	}
	seen := map[string]bool{}
	for i, a := range c.Agents {
		key := settings.Index("agents", i)
		if settings.CheckName(p, key+".name", a.Name) && seen[a.Name] {
			p.Add(key+".name", fmt.Sprintf("duplicate agent %s", settings.Quote(a.Name)))
		}
		seen[a.Name] = true
		if !bcryptPattern.MatchString(a.PasswordHash.Value()) {
			p.Add(key+".password_hash", "want a bcrypt hash ($2a$/$2b$...); `gateway inbox-password` prints one")
		}
	}
}
