package zendesk

import (
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one Zendesk Support account reached through its REST API (v2). Players'
// conversations become tickets whose requester is the player; agents' replies, status and
// assignee changes come back through a Zendesk webhook signed with WebhookSecret (mode
// webhook) or by polling the incremental ticket export (mode poll). See docs/zendesk.md.
type Config struct {
	// URL is the account's base URL, such as https://casino.zendesk.com. Required.
	URL string `yaml:"url"`
	// Email is the agent whose API token Token is ("{email}/token:{token}" Basic auth).
	// Required with Token; not used with OAuthToken.
	Email string `yaml:"email"`
	// Token is a Zendesk API token (Admin Center > Apps and integrations > Zendesk API).
	Token settings.Secret `yaml:"token"`
	// OAuthToken is an OAuth access token with the scopes "tickets:write users:write read",
	// used as a Bearer token instead of Email and Token.
	OAuthToken settings.Secret `yaml:"oauth_token"`
	// Mode is how agents' replies reach the gateway: "webhook" (a Zendesk trigger notifies
	// /hooks/{name}, signed with WebhookSecret) or "poll" (the incremental ticket export is
	// read every PollInterval from a cursor kept in the gateway's store). Default webhook.
	Mode string `yaml:"mode"`
	// WebhookSecret is the signing secret Zendesk shows for the webhook (Admin Center >
	// Webhooks > the webhook > Signing secret). Required in mode webhook.
	WebhookSecret settings.Secret `yaml:"webhook_secret"`
	// MaxSkew is how far a webhook's signed timestamp may be from now before the request is
	// refused as a replay. Default 5m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// PollInterval is how often mode poll reads the export, and how often mode webhook reads
	// it as a safety net for notifications Zendesk gave up on. Default 30s in mode poll; in
	// mode webhook, ReconcileInterval applies.
	PollInterval time.Duration `yaml:"poll_interval"`
	// ReconcileInterval is how often mode webhook reads the export anyway, since Zendesk
	// retries a failed webhook only a few times; 0 turns it off. Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// ExternalIDPrefix starts the external_id of every ticket the gateway creates, followed by
	// the conversation ID: a retry finds the ticket by it, and events of other tickets are
	// passed over. Give gateways sharing one account different prefixes. Default "gateway:".
	ExternalIDPrefix string `yaml:"external_id_prefix"`
	// Tags are added to every ticket, besides channel_<kind>, lang_<language> and vip_<tier>.
	Tags []string `yaml:"tags"`
	// GroupID and BrandID, when not 0, put new tickets into that group and brand.
	GroupID int64 `yaml:"group_id"`
	BrandID int64 `yaml:"brand_id"`
	// Fields are the IDs of custom ticket fields (Admin Center > Objects and rules > Ticket
	// fields) that receive the conversation's metadata; 0 leaves a field out.
	Fields Fields `yaml:"fields"`
	// ClosedTicket is what a player's message does to a ticket an agent solved: "reopen"
	// appends it (Zendesk reopens the ticket) or "follow_up" (the default, also "") opens a new
	// ticket linked to the solved one. A closed ticket cannot be reopened in Zendesk and always
	// gets a follow-up.
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
	// SlowBelow is the remaining request quota (X-Rate-Limit-Remaining) below which requests
	// are spread over the rest of the minute instead of running into 429s. Default 50.
	SlowBelow int `yaml:"slow_below"`
	// Timeout caps one request to Zendesk. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Fields are the custom ticket field IDs of the conversation's metadata.
type Fields struct {
	Language int64 `yaml:"language"`
	VIPTier  int64 `yaml:"vip_tier"`
	Channel  int64 `yaml:"channel"`
	SLA      int64 `yaml:"sla"`
	PlayerID int64 `yaml:"player_id"`
}

// Modes and closed-ticket policies.
const (
	ModeWebhook      = "webhook"
	ModePoll         = "poll"
	ClosedFollowUp   = settings.ClosedFollowUp
	ClosedReopen     = settings.ClosedReopen
	minWebhookSecret = 16
)

// ClosedTicketPolicy implements settings.ClosedTicketPolicy: under follow_up the store moves
// a solved or closed ticket aside (Conversation.FollowUpOf) for the next post to follow up.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		Mode:              ModeWebhook,
		MaxSkew:           5 * time.Minute,
		PollInterval:      30 * time.Second,
		ReconcileInterval: 5 * time.Minute,
		ExternalIDPrefix:  "gateway:",
		ClosedTicket:      ClosedFollowUp,
		SlowBelow:         50,
		Timeout:           30 * time.Second,
	}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	switch {
	case c.OAuthToken.Value() != "" && c.Token.Value() != "":
		p.Add("token", "give token (with email) or oauth_token, not both")
	case c.OAuthToken.Value() != "":
	case c.Token.Value() == "":
		p.Add("token", "required (or oauth_token)")
	case !strings.Contains(c.Email, "@"):
		p.Addf("email", "want the e-mail address of the agent the API token belongs to, got %s", settings.Quote(c.Email))
	}
	switch c.Mode {
	case ModeWebhook:
		if n := len(c.WebhookSecret.Value()); n < minWebhookSecret {
			p.Addf("webhook_secret", "required in mode webhook: the webhook's signing secret from Zendesk (at least %d bytes), got %d bytes", minWebhookSecret, n)
		}
		if c.ReconcileInterval != 0 && c.ReconcileInterval < 10*time.Second {
			p.Add("reconcile_interval", "must be 0 (off) or at least 10s")
		}
	case ModePoll:
	default:
		p.Addf("mode", "want webhook or poll, got %s", settings.Quote(c.Mode))
	}
	if c.MaxSkew < 10*time.Second {
		p.Add("max_skew", "must be at least 10s")
	}
	if c.PollInterval < time.Second {
		p.Add("poll_interval", "must be at least 1s")
	}
	if c.ExternalIDPrefix == "" || len(c.ExternalIDPrefix) > 64 {
		p.Add("external_id_prefix", "want 1 to 64 characters")
	}
	for i, tag := range c.Tags {
		if tag == "" || strings.ContainsAny(tag, " \t\n,") {
			p.Addf(settings.Index("tags", i), "a Zendesk tag has no spaces or commas, got %s", settings.Quote(tag))
		}
	}
	if c.GroupID < 0 || c.BrandID < 0 {
		p.Add("group_id", "group_id and brand_id must not be negative")
	}
	c.ClosedTicket.Check(p, "closed_ticket")
	if c.SlowBelow < 0 {
		p.Add("slow_below", "must not be negative")
	}
	if c.Timeout < time.Second {
		p.Add("timeout", "must be at least 1s")
	}
}
