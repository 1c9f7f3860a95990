package zammad

import (
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one Zammad system reached through its REST API (v1) with an access token.
// Players' conversations become tickets whose customer is the player; agents' replies,
// state and owner changes come back through a trigger's webhook signed with WebhookToken
// (mode webhook) or by polling the tickets changed lately (mode poll). See docs/zammad.md.
type Config struct {
	// URL is the system's base URL, such as https://support.casino.example. Required.
	URL string `yaml:"url"`
	// Token is the access token of the gateway's Zammad user (Profile > Token Access) with
	// the permissions ticket.agent and admin.user. Required.
	Token settings.Secret `yaml:"token"`
	// Group receives new tickets; the token's user must be an agent with full access in it.
	// Default "Users" (Zammad's first group).
	Group string `yaml:"group"`
	// Mode is how agents' replies reach the gateway: "webhook" (a Zammad trigger's webhook
	// calls /hooks/{name}, signed with WebhookToken) or "poll" (the tickets changed since a
	// cursor kept in the gateway's store are read every PollInterval; needs Zammad's search
	// index). Default webhook.
	Mode string `yaml:"mode"`
	// WebhookToken is the webhook's "HMAC SHA1 Signature Token" (Manage > Webhook), with
	// which Zammad signs X-Hub-Signature. Required in mode webhook.
	WebhookToken settings.Secret `yaml:"webhook_token"`
	// PollInterval is how often mode poll looks for changed tickets. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// ReconcileInterval is how often mode webhook polls anyway, since Zammad gives a failing
	// webhook up after four retries; 0 turns it off. Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// LoginPrefix starts the login of a player the gateway creates without an e-mail
	// address, followed by "<channel>:<address>": a login, never a made-up address that
	// could receive mail. Default "gateway:".
	LoginPrefix string `yaml:"login_prefix"`
	// Attributes are the names of the ticket's custom object attributes (Settings > Objects
	// > Ticket) that receive the conversation's data; "" leaves one out, except Conversation.
	Attributes Attributes `yaml:"attributes"`
	// Tags are added to every ticket, besides channel_<kind>, lang_<language> and vip_<tier>.
	Tags []string `yaml:"tags"`
	// Priorities are the names of Zammad's ticket priorities the gateway's map to.
	Priorities Priorities `yaml:"priorities"`
	// ClosedTicket is what a player's message does to a ticket an agent closed: "follow_up"
	// (the default, also "") opens a new ticket linked to the closed one, "reopen" appends it
	// to the closed ticket, which Zammad reopens (when the group allows follow-ups).
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
	// SlowBelow is the remaining request quota (X-RateLimit-Remaining, where a proxy in front
	// of Zammad announces one) below which requests are spread over the rest of the window.
	// Default 20.
	SlowBelow int `yaml:"slow_below"`
	// MaxFileBytes caps one attachment sent to Zammad (they go base64 inside the JSON).
	// Default 20 MiB.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// Timeout caps one request to Zammad. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Attributes are the names of the ticket's custom object attributes of the conversation's data.
type Attributes struct {
	// Conversation holds the gateway's conversation ID (a text attribute): a retry finds the
	// ticket by it, and the hook passes over tickets without it. Default
	// "gateway_conversation"; required.
	Conversation string `yaml:"conversation"`
	Language     string `yaml:"language"`
	VIPTier      string `yaml:"vip_tier"`
	Channel      string `yaml:"channel"`
	SLA          string `yaml:"sla"`
	PlayerID     string `yaml:"player_id"`
}

// Priorities name Zammad's priorities for the gateway's low, normal, high and urgent.
type Priorities struct {
	Low    string `yaml:"low"`
	Normal string `yaml:"normal"`
	High   string `yaml:"high"`
	Urgent string `yaml:"urgent"`
}

// Modes and closed-ticket policies.
const (
	ModeWebhook    = "webhook"
	ModePoll       = "poll"
	ClosedFollowUp = settings.ClosedFollowUp
	ClosedReopen   = settings.ClosedReopen
	minHookToken   = 16
)

// ClosedTicketPolicy implements settings.ClosedTicketPolicy: under follow_up the store moves
// a closed ticket aside (Conversation.FollowUpOf) for the next post to follow up.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		Group:             "Users",
		Mode:              ModeWebhook,
		PollInterval:      30 * time.Second,
		ReconcileInterval: 5 * time.Minute,
		LoginPrefix:       "gateway:",
		Attributes:        Attributes{Conversation: "gateway_conversation"},
		Priorities:        Priorities{Low: "1 low", Normal: "2 normal", High: "3 high", Urgent: "3 high"},
		ClosedTicket:      ClosedFollowUp,
		SlowBelow:         20,
		MaxFileBytes:      20 << 20,
		Timeout:           30 * time.Second,
	}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	if c.Token.Value() == "" {
		p.Add("token", "required: the access token of the gateway's Zammad user")
	}
	if strings.TrimSpace(c.Group) == "" {
		p.Add("group", "required: the Zammad group of new tickets")
	}
	switch c.Mode {
	case ModeWebhook:
		if n := len(c.WebhookToken.Value()); n < minHookToken {
			p.Addf("webhook_token", "required in mode webhook: the webhook's HMAC SHA1 signature token (at least %d bytes), got %d bytes", minHookToken, n)
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
	if c.LoginPrefix == "" || len(c.LoginPrefix) > 32 || strings.Contains(c.LoginPrefix, "@") {
		p.Add("login_prefix", "want 1 to 32 characters without @ (a login, never an address)")
	}
	if !attributeName(c.Attributes.Conversation) {
		p.Addf("attributes.conversation", "required: the name of a text attribute of tickets (lower case, digits, _), got %s", settings.Quote(c.Attributes.Conversation))
	}
	for key, name := range map[string]string{"language": c.Attributes.Language, "vip_tier": c.Attributes.VIPTier,
		"channel": c.Attributes.Channel, "sla": c.Attributes.SLA, "player_id": c.Attributes.PlayerID} {
		if name != "" && !attributeName(name) {
			p.Addf("attributes."+key, "want an attribute's name (lower case, digits, _) or empty, got %s", settings.Quote(name))
		}
	}
	for key, name := range map[string]string{"low": c.Priorities.Low, "normal": c.Priorities.Normal, "high": c.Priorities.High, "urgent": c.Priorities.Urgent} {
		if strings.TrimSpace(name) == "" {
			p.Add("priorities."+key, "required: the name of a Zammad priority, such as \"2 normal\"")
		}
	}
	for i, tag := range c.Tags {
		if strings.TrimSpace(tag) == "" || strings.Contains(tag, ",") {
			p.Addf(settings.Index("tags", i), "a Zammad tag is not empty and has no commas, got %s", settings.Quote(tag))
		}
	}
	c.ClosedTicket.Check(p, "closed_ticket")
	if c.SlowBelow < 0 {
		p.Add("slow_below", "must not be negative")
	}
	if c.MaxFileBytes < 1024 {
		p.Add("max_file_bytes", "must be at least 1024")
	}
	if c.Timeout < time.Second {
		p.Add("timeout", "must be at least 1s")
	}
}

// attributeName reports whether s can be a Zammad object attribute's name.
func attributeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
