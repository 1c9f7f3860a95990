package config

import (
	"fmt"
	"time"
)

// Webhook is the generic signed-webhook helpdesk: the gateway POSTs signed JSON events to URL
// and the operator's system answers through /hooks/{name} (signed events) or
// /api/v1/helpdesks/{name}/events and /replies (bearer token). See docs/webhook.md.
type Webhook struct {
	// URL receives the events (conversation.opened, message.created, conversation.updated).
	// Required, http(s).
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key signing events in both directions and attachment links.
	// Required, at least 16 bytes, so it cannot be guessed.
	Secret Secret `yaml:"secret"`
	// APIToken is the bearer token the operator's system presents to
	// /api/v1/helpdesks/{name}/events and /replies. Required.
	APIToken Secret `yaml:"api_token"`
	// Timeout caps one request to URL. Default 15s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxSkew is how far a signed timestamp may be from now before the event is refused as
	// stale (replay protection). Default 5m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// AttachmentURLTTL is how long the signed attachment download links stay valid. Default 24h.
	AttachmentURLTTL time.Duration `yaml:"attachment_url_ttl"`
}

// minWebhookSecret is the shortest accepted signing secret: 128 bits.
const minWebhookSecret = 16

func (s *Webhook) presets() {
	s.Timeout = 15 * time.Second
	s.MaxSkew = 5 * time.Minute
	s.AttachmentURLTTL = 24 * time.Hour
}

func (s *Webhook) derive(c *Config, name string) {}

func (s *Webhook) validate(path string, p *problems) {
	checkHTTPURL(p, joinKey(path, "url"), s.URL, true)
	switch n := len(s.Secret.Value()); {
	case n == 0:
		p.add(joinKey(path, "secret"), "required")
	case n < minWebhookSecret:
		p.add(joinKey(path, "secret"), fmt.Sprintf("want at least %d bytes, got %d", minWebhookSecret, n))
	}
	if s.APIToken.Value() == "" {
		p.add(joinKey(path, "api_token"), "required")
	}
	if s.Timeout < time.Second {
		p.add(joinKey(path, "timeout"), "must be at least 1s")
	}
	if s.MaxSkew < 10*time.Second {
		p.add(joinKey(path, "max_skew"), "must be at least 10s")
	}
	if s.AttachmentURLTTL < time.Minute {
		p.add(joinKey(path, "attachment_url_ttl"), "must be at least 1m")
	}
}
