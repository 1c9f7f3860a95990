package rt

import (
	"regexp"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is a Request Tracker 5 instance reached through its REST2 API with an auth token.
// Players' conversations become tickets in Queue; agents' replies are found by polling the
// tickets' transactions, since RT has no webhooks.
type Config struct {
	// URL is the REST2 base, such as https://rt.example/REST/2.0. Required.
	URL string `yaml:"url"`
	// Token is an RT auth token of GatewayUser ("Authorization: token ..."). Required.
	Token settings.Secret `yaml:"token"`
	// Queue takes the tickets. Default "Support".
	Queue string `yaml:"queue"`
	// GatewayUser is the RT user name the token belongs to. Required: REST2 has no "who am
	// I", and the poller must recognise the gateway's own transactions to skip them.
	GatewayUser string `yaml:"gateway_user"`
	// RequestorDomain is the domain of the synthetic requestor addresses of messenger
	// players, who have no e-mail address. Default players.invalid (never deliverable).
	RequestorDomain string `yaml:"requestor_domain"`
	// PollInterval is how often tickets are checked for agents' replies. Default 15s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// SettleDelay is how long a retry waits before it looks up a message whose earlier post
	// may still commit inside RT, and, plus one second, how old a transaction must be before
	// the poller takes it (later commits may carry lower ids), so it also delays agents'
	// replies by about that much. Default 5s.
	SettleDelay time.Duration `yaml:"settle_delay"`
	// CustomField, when set, names a ticket custom field that receives the player's channel
	// address ("<channel>:<address>"); it must exist and apply to Queue.
	CustomField string `yaml:"custom_field"`
	// ClosedTicket is what a player's message does after an agent resolved the ticket:
	// follow_up (the default) creates a new ticket that RefersTo the resolved one, reopen
	// corresponds on the resolved ticket, which RT reopens.
	ClosedTicket settings.ClosedTicket `yaml:"closed_ticket"`
}

// ClosedTicketPolicy implements settings.ClosedTicketPolicy.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return c.ClosedTicket }

// domainPattern is a plain DNS name, as the part after @ of a requestor address.
var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		Queue:           "Support",
		RequestorDomain: "players.invalid",
		PollInterval:    15 * time.Second,
		SettleDelay:     5 * time.Second,
		ClosedTicket:    settings.ClosedFollowUp,
	}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
	if c.Token.Value() == "" {
		p.Add("token", "required")
	}
	if c.Queue == "" {
		p.Add("queue", "required")
	}
	if c.GatewayUser == "" {
		p.Add("gateway_user", "required: the RT user name of the token")
	}
	if !domainPattern.MatchString(c.RequestorDomain) {
		p.Addf("requestor_domain", "want a lower-case domain such as players.invalid, got %s", settings.Quote(c.RequestorDomain))
	}
	if c.PollInterval < time.Second {
		p.Add("poll_interval", "must be at least 1s")
	}
	if c.SettleDelay < 0 {
		p.Add("settle_delay", "must not be negative")
	}
	c.ClosedTicket.Check(p, "closed_ticket")
}
