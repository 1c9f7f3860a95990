package whatsapp

import (
	"path/filepath"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one WhatsApp number linked as a companion device (like WhatsApp Web) through
// whatsmeow. Players write to the number as usual; the gateway holds the device's keys in its
// own session database and answers as the number.
type Config struct {
	// Database is the whatsmeow session store of this instance (the linked device's keys),
	// a SQLite file of its own so that it never competes with the gateway store's single
	// writer. Default <data_dir>/whatsapp/<name>.db, created with mode 0600.
	Database string `yaml:"database"`
	// Groups takes messages from group chats too; off by default, since a support
	// conversation belongs to one player.
	Groups bool `yaml:"groups"`
	// MarkRead marks a player's messages read (blue ticks) once an agent's reply was sent.
	// Default on.
	MarkRead bool `yaml:"mark_read"`
	// ChatInterval is the least time between two messages to one player. Default 2s.
	ChatInterval time.Duration `yaml:"chat_interval"`
	// SendInterval is the least time between two messages of the whole instance. Default 500ms.
	SendInterval time.Duration `yaml:"send_interval"`
	// SendBurst is how many messages may go at once before the intervals apply. Default 3.
	SendBurst int `yaml:"send_burst"`
	// HistoryMaxAge is the oldest player message taken from a history sync (what the phone
	// hands a newly linked device, or messages missed while the device was away). Older ones
	// are skipped, so that linking a phone with years of chats does not open a ticket for each.
	// Default 24h; 0 takes no history at all.
	HistoryMaxAge time.Duration `yaml:"history_max_age"`
}

// DefaultConfig returns the settings with their defaults; Database gets its default from
// Derive, in data_dir.
func DefaultConfig() *Config {
	return &Config{
		MarkRead:      true,
		ChatInterval:  2 * time.Second,
		SendInterval:  500 * time.Millisecond,
		SendBurst:     3,
		HistoryMaxAge: 24 * time.Hour,
	}
}

// Derive puts the session database into data_dir, named after the instance.
func (c *Config) Derive(env settings.Env) {
	if c.Database == "" && env.DataDir != "" {
		c.Database = filepath.Join(env.DataDir, "whatsapp", env.Name+".db")
	}
}

// DatabaseFile implements settings.FileOwner: two instances never share a session.
func (c *Config) DatabaseFile() string { return c.Database }

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	// Empty only when data_dir is, or in a Config built in code without defaults.
	if c.Database == "" {
		p.Add("database", "required")
	}
	if c.ChatInterval <= 0 {
		p.Add("chat_interval", "must be positive: WhatsApp bans numbers that send in bursts")
	}
	if c.SendInterval <= 0 {
		p.Add("send_interval", "must be positive: WhatsApp bans numbers that send in bursts")
	}
	if c.SendBurst < 1 || c.SendBurst > 20 {
		p.Add("send_burst", "want 1 to 20")
	}
	if c.HistoryMaxAge < 0 {
		p.Add("history_max_age", "must not be negative (0 takes no history)")
	}
}
