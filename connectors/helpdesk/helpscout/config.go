package helpscout

import (
	"regexp"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one Help Scout inbox (a "mailbox" in the Mailbox API 2.0) reached with an OAuth2
// app's client credentials. Players' conversations become Help Scout conversations whose
// customer is the player; agents' replies and status changes come back through a Help Scout
// webhook signed with WebhookSecret (mode webhook) or by polling the inbox's conversations
// by modification time (mode poll). See docs/helpscout.md.
type Config struct {
	// URL is the Mailbox API's base URL. Default https://api.helpscout.net.
	URL string `yaml:"url"`
	// TokenURL is where the access token is fetched (OAuth2 client credentials). Default
	// URL + /v2/oauth2/token.
	TokenURL string `yaml:"token_url"`
	// ClientID and ClientSecret are the App ID and App Secret of a private app (Your Profile >
	// My Apps > Create My App); the app acts as the user who created it. Required.
	ClientID     string          `yaml:"client_id"`
	ClientSecret settings.Secret `yaml:"client_secret"`
	// MailboxID is the inbox new conversations go to (its ID is in the inbox's URL). Required.
	MailboxID int64 `yaml:"mailbox_id"`
	// Mode is how agents' replies reach the gateway: "webhook" (Help Scout notifies
	// /hooks/{name}, signed with WebhookSecret) or "poll" (the inbox's conversations modified
	// since a cursor kept in the gateway's store are read every PollInterval). Default webhook.
	Mode string `yaml:"mode"`
	// WebhookSecret is the secret key typed into the webhook (Manage > Apps > Webhooks).
	// Required in mode webhook.
	WebhookSecret settings.Secret `yaml:"webhook_secret"`
	// PollInterval is how often mode poll reads the inbox. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// ReconcileInterval is how often mode webhook polls anyway, for notifications Help Scout
	// gave up on or deactivated the webhook after; 0 turns it off. Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// TagPrefix starts the tag that names the conversation on every Help Scout conversation
	// the gateway creates ("gw-" then the gateway's conversation ID): a retry finds the
	// conversation by it, and events of other conversations are passed over. Give gateways
	// sharing one inbox different prefixes. Lower case letters, digits and "-". Default "gw-".
	TagPrefix string `yaml:"tag_prefix"`
	// Tags are added to every conversation, besides channel-<kind>, lang-<language>,
	// vip-<tier> and priority-<priority>.
	Tags []string `yaml:"tags"`
	// Fields are the IDs of the inbox's custom fields (Manage > Inbox > Custom Fields; Plus
	// plan and up) that receive the conversation's metadata; 0 leaves a field out.
	Fields Fields `yaml:"fields"`
	// ClosedTicket is what a player's message does to a conversation an agent closed:
	// "follow_up" (the default, also "") opens a new conversation tagged follow-up-of-<id>,
	// "reopen" sets the closed one active again and appends the message.
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
	// SlowBelow is the remaining request quota (X-RateLimit-Remaining-Minute) below which
	// requests are spread over the rest of the minute instead of running into 429s. Default 20.
	SlowBelow int `yaml:"slow_below"`
	// Timeout caps one request to Help Scout. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Fields are the custom field IDs of the conversation's metadata.
type Fields struct {
	Language int64 `yaml:"language"`
	VIPTier  int64 `yaml:"vip_tier"`
	Channel  int64 `yaml:"channel"`
	SLA      int64 `yaml:"sla"`
	PlayerID int64 `yaml:"player_id"`
}

// Modes.
const (
	ModeWebhook      = "webhook"
	ModePoll         = "poll"
	minWebhookSecret = 16
	maxWebhookSecret = 40 // Help Scout's limit on a webhook's secret key
)

// ClosedTicketPolicy implements settings.ClosedTicketPolicy: under follow_up the store moves
// a closed conversation aside (Conversation.FollowUpOf) for the next post to follow up.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		URL:               "https://api.helpscout.net",
		Mode:              ModeWebhook,
		PollInterval:      30 * time.Second,
		ReconcileInterval: 5 * time.Minute,
		TagPrefix:         "gw-",
		ClosedTicket:      settings.ClosedFollowUp,
		SlowBelow:         20,
		Timeout:           30 * time.Second,
	}
}

// tagPattern is what Help Scout keeps of a tag unchanged (it lower-cases tags).
var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	if c.TokenURL != "" {
		settings.CheckHTTPURL(p, "token_url", c.TokenURL, false)
	}
	if c.ClientID == "" {
		p.Add("client_id", "required: the App ID of the Help Scout app")
	}
	if c.ClientSecret.Value() == "" {
		p.Add("client_secret", "required: the App Secret of the Help Scout app")
	}
	if c.MailboxID <= 0 {
		p.Add("mailbox_id", "required: the ID of the inbox new conversations go to")
	}
	switch c.Mode {
	case ModeWebhook:
		switch n := len(c.WebhookSecret.Value()); {
		case n < minWebhookSecret:
			p.Addf("webhook_secret", "required in mode webhook: the secret key of the Help Scout webhook (at least %d bytes), got %d bytes", minWebhookSecret, n)
		case n > maxWebhookSecret:
			p.Addf("webhook_secret", "Help Scout takes a secret key of at most %d characters, got %d", maxWebhookSecret, n)
		}
		if c.ReconcileInterval != 0 && c.ReconcileInterval < 10*time.Second {
			p.Add("reconcile_interval", "must be 0 (off) or at least 10s")
		}
	case ModePoll:
	default:
		p.Addf("mode", "want webhook or poll, got %s", settings.Quote(c.Mode))
	}
	if c.PollInterval < time.Second {
		p.Add("poll_interval", "must be at least 1s")
	}
	if !tagPattern.MatchString(c.TagPrefix) || len(c.TagPrefix) > 16 {
		p.Addf("tag_prefix", "want 1 to 16 lower-case letters, digits, - or _, got %s", settings.Quote(c.TagPrefix))
	}
	for i, tag := range c.Tags {
		if !tagPattern.MatchString(tag) {
			p.Addf(settings.Index("tags", i), "want lower-case letters, digits, - or _ (Help Scout lower-cases tags), got %s", settings.Quote(tag))
		}
	}
	c.ClosedTicket.Check(p, "closed_ticket")
	if c.SlowBelow < 0 {
		p.Add("slow_below", "must not be negative")
	}
	if c.Timeout < time.Second {
		p.Add("timeout", "must be at least 1s")
	}
}
