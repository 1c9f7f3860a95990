package loopback

import "github.com/casino-support/gateway/connectors/settings"

// Config is the loopback channel: players' messages are POSTed to /hooks/{name} and replies
// are POSTed to SendURL. It exists to exercise the pipeline end to end.
type Config struct {
	// SendURL receives agent replies as JSON, with the message ID as idempotency key.
	SendURL string `yaml:"send_url"`
	// Secret, when set, must be sent as a bearer token by whoever POSTs to the hook, and is
	// sent as one to SendURL.
	Secret settings.Secret `yaml:"secret"`
}

// DefaultConfig returns the settings, which have no defaults.
func DefaultConfig() *Config { return &Config{} }

// Validate requires SendURL: without it replies to players would have nowhere to go.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "send_url", c.SendURL, true)
}
