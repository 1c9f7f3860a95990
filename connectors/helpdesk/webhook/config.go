package webhook

import (
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is the generic signed-webhook helpdesk: the gateway POSTs signed JSON events to URL
// and the operator's system answers through /hooks/{name} (signed events) or
// /api/v1/helpdesks/{name}/events and /replies (bearer token). See docs/webhook.md.
type Config struct {
	// URL receives the events (conversation.opened, message.created, conversation.updated).
	// Required, http(s).
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key signing events in both directions and attachment links.
	// Required, at least 16 bytes, so it cannot be guessed.
	Secret settings.Secret `yaml:"secret"`
	// APIToken is the bearer token the operator's system presents to
	// /api/v1/helpdesks/{name}/events and /replies. Required.
	APIToken settings.Secret `yaml:"api_token"`
	// Timeout caps one request to URL. Default 15s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxSkew is how far a signed timestamp may be from now before the event is refused as
	// stale (replay protection). Default 5m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// AttachmentURLTTL is how long the signed attachment download links stay valid. Default 24h.
	AttachmentURLTTL time.Duration `yaml:"attachment_url_ttl"`
	// ClosedTicket is what a player's message does after the operator's system closed the
	// conversation: follow_up (the default) opens it again with a new conversation.opened
	// naming the closed ticket in follow_up_of, reopen sends the message on the closed ticket.
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
	// BatchEvents, above 1, sends up to that many consecutive message.created and
	// conversation.updated events of a ticket as one events.batch request (contract 1.5.0),
	// which the operator's endpoint must understand. 0 or 1 sends one event per request.
	BatchEvents int `yaml:"batch_events"`
}

// ClosedTicketPolicy implements settings.ClosedTicketPolicy.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// maxBatchEvents caps batch_events, so one request asks the operator's endpoint to store a
// bounded amount; the router hands over delivery.batch_size (default 50) messages at most.
const maxBatchEvents = 100

// minSecret is the shortest accepted signing secret: 128 bits.
const minSecret = 16

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{Timeout: 15 * time.Second, MaxSkew: 5 * time.Minute, AttachmentURLTTL: 24 * time.Hour, ClosedTicket: settings.ClosedFollowUp}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	switch n := len(c.Secret.Value()); {
	case n == 0:
		p.Add("secret", "required")
	case n < minSecret:
		p.Addf("secret", "want at least %d bytes, got %d", minSecret, n)
	}
	if c.APIToken.Value() == "" {
		p.Add("api_token", "required")
	}
	if c.Timeout < time.Second {
		p.Add("timeout", "must be at least 1s")
	}
	if c.MaxSkew < 10*time.Second {
		p.Add("max_skew", "must be at least 10s")
	}
	if c.AttachmentURLTTL < time.Minute {
		p.Add("attachment_url_ttl", "must be at least 1m")
	}
	c.ClosedTicket.Check(p, "closed_ticket")
	if c.BatchEvents < 0 || c.BatchEvents > maxBatchEvents {
		p.Addf("batch_events", "want 0 (off) to %d, got %d", maxBatchEvents, c.BatchEvents)
	}
}
