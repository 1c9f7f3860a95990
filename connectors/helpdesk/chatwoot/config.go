package chatwoot

import (
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one Chatwoot account reached through its Application API with an agent's (or an
// agent bot's) access token, and one API-channel inbox of it that holds the players'
// conversations. Agents' replies come back as the inbox's webhook to /hooks/{instance}. See
// docs/chatwoot.md for the set-up in Chatwoot.
type Config struct {
	// URL is the Chatwoot installation, such as https://chat.example.com (no /api). Required.
	URL string `yaml:"url"`
	// AccountID is the Chatwoot account's numeric ID (the number after /app/accounts/ in the
	// dashboard's address). Required.
	AccountID int `yaml:"account_id"`
	// InboxID is the numeric ID of the API-channel inbox that takes the conversations.
	// Required.
	InboxID int `yaml:"inbox_id"`
	// APIToken is the access token sent as the api_access_token header: an agent's (Profile
	// settings → Access token) with access to the inbox. Required.
	APIToken settings.Secret `yaml:"api_token"`
	// Mode is how agents' replies arrive: webhook (the inbox's webhook to /hooks/{name}, with
	// a reconciling poll every ReconcileInterval) or poll (the inbox's conversations read
	// every PollInterval, where Chatwoot cannot reach the gateway). Default webhook.
	Mode string `yaml:"mode"`
	// PollInterval is how often mode poll reads the inbox. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// ReconcileInterval is how often mode webhook reads the inbox anyway, for webhooks
	// Chatwoot gave up on or sent while no replica ran; 0 turns it off. Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// WebhookSecret is the inbox's webhook secret, with which Chatwoot releases that sign
	// their webhooks send X-Chatwoot-Signature (HMAC-SHA256 over "{timestamp}.{body}").
	// In mode webhook either it or HookToken is required.
	WebhookSecret settings.Secret `yaml:"webhook_secret"`
	// HookToken is a shared secret for Chatwoot releases that sign nothing: the webhook URL
	// configured in Chatwoot carries it as ?token=..., or a proxy adds it as the
	// X-Gateway-Token header. At least 16 bytes. A request with a valid signature needs none.
	HookToken settings.Secret `yaml:"hook_token"`
	// MaxSkew is how far X-Chatwoot-Timestamp may be from now before a signed webhook is
	// refused as a replay. Default 5m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// Timeout caps one API request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// ClosedTicket is what a player's message does after an agent resolved the conversation:
	// follow_up (the default) opens a new conversation that names the resolved one
	// (follow_up_of), reopen adds the message to the resolved one, which Chatwoot reopens.
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
	// SlowBelow is the remaining request quota (X-RateLimit-Remaining or RateLimit-Remaining,
	// where a proxy in front of Chatwoot, or Chatwoot Cloud, announces it) below which requests
	// are spread over the rest of the window instead of running into 429s. Default 0: a tenth
	// of the announced X-RateLimit-Limit, or 10.
	SlowBelow int `yaml:"slow_below"`
}

// ClosedTicketPolicy implements settings.ClosedTicketPolicy.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// minHookToken is the shortest accepted shared secret: 128 bits.
const minHookToken = 16

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{Mode: ModeWebhook, PollInterval: 30 * time.Second, ReconcileInterval: 5 * time.Minute,
		MaxSkew: 5 * time.Minute, Timeout: 30 * time.Second, ClosedTicket: settings.ClosedFollowUp}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	if c.AccountID <= 0 {
		p.Add("account_id", "required: the account's numeric ID")
	}
	if c.InboxID <= 0 {
		p.Add("inbox_id", "required: the API-channel inbox's numeric ID")
	}
	if c.APIToken.Value() == "" {
		p.Add("api_token", "required")
	}
	switch c.Mode {
	case ModeWebhook, ModePoll:
	default:
		p.Addf("mode", "want webhook or poll, got %s", settings.Quote(c.Mode))
	}
	if c.PollInterval < time.Second {
		p.Add("poll_interval", "must be at least 1s")
	}
	if c.ReconcileInterval < 0 {
		p.Add("reconcile_interval", "must not be negative (0 turns it off)")
	}
	switch n := len(c.HookToken.Value()); {
	case c.Mode != ModePoll && c.WebhookSecret.Value() == "" && n == 0:
		p.Add("webhook_secret", "required, or hook_token for a Chatwoot release that does not sign its webhooks")
	case n > 0 && n < minHookToken:
		p.Addf("hook_token", "want at least %d bytes, got %d", minHookToken, n)
	}
	if c.MaxSkew < 10*time.Second {
		p.Add("max_skew", "must be at least 10s")
	}
	if c.Timeout < time.Second {
		p.Add("timeout", "must be at least 1s")
	}
	c.ClosedTicket.Check(p, "closed_ticket")
	if c.SlowBelow < 0 {
		p.Add("slow_below", "must not be negative")
	}
}
