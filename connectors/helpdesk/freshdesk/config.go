package freshdesk

import (
	"net/http"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one Freshdesk account reached through its REST API (v2). Players' conversations
// become tickets whose requester is the player; agents' replies and status changes come back
// when an automation rule's "Trigger Webhook" action notifies /hooks/{name} with the shared
// secret header (mode webhook), or by polling the tickets updated since a cursor (mode poll).
// See docs/freshdesk.md.
type Config struct {
	// URL is the account's base URL, such as https://casino.freshdesk.com. Required.
	URL string `yaml:"url"`
	// APIKey is the API key of the agent the gateway acts as (Profile settings > View API
	// key), sent as the Basic user with the password "X". Required.
	APIKey settings.Secret `yaml:"api_key"`
	// Mode is how agents' replies reach the gateway: "webhook" (an automation rule notifies
	// /hooks/{name} with WebhookHeader: WebhookSecret) or "poll" (the tickets updated since a
	// cursor kept in the gateway's store are read every PollInterval). Default webhook.
	Mode string `yaml:"mode"`
	// WebhookHeader is the custom header the automation rule's "Trigger Webhook" action sends
	// with WebhookSecret as its value: Freshdesk signs nothing, so this shared secret is what
	// tells its notifications from anyone else's. Default X-Gateway-Webhook-Secret.
	WebhookHeader string `yaml:"webhook_header"`
	// WebhookSecret is the value of WebhookHeader, at least 24 characters; compared in
	// constant time. Required in mode webhook.
	WebhookSecret settings.Secret `yaml:"webhook_secret"`
	// PollInterval is how often mode poll reads the updated tickets. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// ReconcileInterval is how often mode webhook polls anyway, for notifications Freshdesk
	// never sent (an automation rule's webhook is not retried for long); 0 turns it off.
	// Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// MarkerPrefix starts the conversation marker the gateway writes into each ticket's
	// description ("[gateway-conversation: <prefix><conversation>]"): a retry finds the ticket
	// by it among the requester's tickets, and events of other tickets are passed over. Give
	// gateways sharing one account different prefixes. Default "gateway:".
	MarkerPrefix string `yaml:"marker_prefix"`
	// Tags are added to every ticket, besides channel_<kind>, lang_<language> and vip_<tier>.
	Tags []string `yaml:"tags"`
	// GroupID, when not 0, puts new tickets into that group.
	GroupID int64 `yaml:"group_id"`
	// Source is the Freshdesk source number of new tickets: 7 (chat, the default), 2 (portal),
	// 3 (phone) or 1 (email; Freshdesk then mails the requester as for an e-mail).
	Source int `yaml:"source"`
	// Fields are the names of custom ticket fields (Admin > Ticket fields, the API name such
	// as cf_language) that receive the conversation's metadata; "" leaves a field out. Make
	// them single-line text fields.
	Fields Fields `yaml:"fields"`
	// ClosedTicket is what a player's message does to a ticket an agent resolved or closed:
	// "follow_up" (the default, also "") opens a new ticket linked to it; "reopen" appends
	// the message and sets the ticket open again.
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
	// SlowBelow is the remaining request quota (X-RateLimit-Remaining) below which requests
	// are spread over the rest of the minute instead of running into 429s. Default 20.
	SlowBelow int `yaml:"slow_below"`
	// Timeout caps one request to Freshdesk. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Fields are the API names of the custom ticket fields of the conversation's metadata.
type Fields struct {
	Language string `yaml:"language"`
	VIPTier  string `yaml:"vip_tier"`
	Channel  string `yaml:"channel"`
	SLA      string `yaml:"sla"`
	PlayerID string `yaml:"player_id"`
}

// Modes and closed-ticket policies.
const (
	ModeWebhook          = "webhook"
	ModePoll             = "poll"
	DefaultWebhookHeader = "X-Gateway-Webhook-Secret"
	minWebhookSecret     = 24
)

// ClosedTicketPolicy implements settings.ClosedTicketPolicy: under follow_up the store moves
// a resolved or closed ticket aside (Conversation.FollowUpOf) for the next post to follow up.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		Mode:              ModeWebhook,
		WebhookHeader:     DefaultWebhookHeader,
		PollInterval:      30 * time.Second,
		ReconcileInterval: 5 * time.Minute,
		MarkerPrefix:      "gateway:",
		Source:            sourceChat,
		ClosedTicket:      settings.ClosedFollowUp,
		SlowBelow:         20,
		Timeout:           30 * time.Second,
	}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	if c.APIKey.Value() == "" {
		p.Add("api_key", "required: the API key of the agent the gateway acts as")
	}
	switch c.Mode {
	case ModeWebhook:
		if n := len(c.WebhookSecret.Value()); n < minWebhookSecret {
			p.Addf("webhook_secret", "required in mode webhook: the shared secret the automation rule sends (at least %d bytes), got %d bytes", minWebhookSecret, n)
		}
		if c.ReconcileInterval != 0 && c.ReconcileInterval < 10*time.Second {
			p.Add("reconcile_interval", "must be 0 (off) or at least 10s")
		}
	case ModePoll:
	default:
		p.Addf("mode", "want webhook or poll, got %s", settings.Quote(c.Mode))
	}
	if h := c.WebhookHeader; h == "" || http.CanonicalHeaderKey(h) == "" || strings.ContainsAny(h, " :\t\r\n") {
		p.Addf("webhook_header", "want an HTTP header name, got %s", settings.Quote(h))
	}
	if c.PollInterval < time.Second {
		p.Add("poll_interval", "must be at least 1s")
	}
	if c.MarkerPrefix == "" || len(c.MarkerPrefix) > 64 || strings.ContainsAny(c.MarkerPrefix, "[] <>&\"'") {
		p.Add("marker_prefix", "want 1 to 64 characters without spaces, brackets or HTML specials")
	}
	for i, tag := range c.Tags {
		if tag == "" || len(tag) > 32 || strings.ContainsAny(tag, ",") {
			p.Addf(settings.Index("tags", i), "a Freshdesk tag has 1 to 32 characters and no commas, got %s", settings.Quote(tag))
		}
	}
	if c.GroupID < 0 {
		p.Add("group_id", "must not be negative")
	}
	switch c.Source {
	case 1, 2, 3, sourceChat:
	default:
		p.Addf("source", "want 1 (email), 2 (portal), 3 (phone) or 7 (chat), got %d", c.Source)
	}
	for key, name := range map[string]string{"fields.language": c.Fields.Language, "fields.vip_tier": c.Fields.VIPTier,
		"fields.channel": c.Fields.Channel, "fields.sla": c.Fields.SLA, "fields.player_id": c.Fields.PlayerID} {
		if name != "" && !strings.HasPrefix(name, "cf_") {
			p.Addf(key, "want the field's API name, which starts with cf_, got %s", settings.Quote(name))
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
