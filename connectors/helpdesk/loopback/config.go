package loopback

import "github.com/casino-support/gateway/connectors/settings"

// Config is the loopback helpdesk: tickets and messages are POSTed to URL, agent replies are
// POSTed to /hooks/{name}. It exists to exercise the pipeline end to end.
type Config struct {
	// URL is the base of the remote's /tickets API.
	URL string `yaml:"url"`
	// Secret, when set, must be sent as a bearer token by whoever POSTs to the hook, and is
	// sent as one to URL.
	Secret settings.Secret `yaml:"secret"`
}

// DefaultConfig returns the settings, which have no defaults.
func DefaultConfig() *Config { return &Config{} }

// Validate requires URL: without it conversations would have nowhere to go.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", c.URL, true)
}

// ClosedTicketPolicy implements settings.ClosedTicketPolicy: the loopback remote keys tickets
// by conversation, so a player writing after a close reopens the ticket by nature.
func (c *Config) ClosedTicketPolicy() settings.ClosedTicket { return settings.ClosedReopen }
