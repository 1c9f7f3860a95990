package cloud

import (
	"regexp"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one WhatsApp Business phone number on Meta's Cloud API: players' messages arrive
// by webhook at /hooks/{name}, agents' replies go out through the Graph API.
type Config struct {
	// PhoneNumberID is the business phone number's ID in WhatsApp Manager (not the number
	// itself): the Graph API sends from /{phone_number_id}/messages. Required.
	PhoneNumberID string `yaml:"phone_number_id"`
	// AccessToken is a system user's permanent token with whatsapp_business_messaging
	// (whatsapp_business_management to check the number at start). Required.
	AccessToken settings.Secret `yaml:"access_token"`
	// AppSecret is the Meta app's secret, which signs every webhook POST
	// (X-Hub-Signature-256). Required.
	AppSecret settings.Secret `yaml:"app_secret"`
	// VerifyToken is the string entered as "Verify token" when the webhook is set up; Meta's
	// verification GET must bring it. Required.
	VerifyToken settings.Secret `yaml:"verify_token"`
	// APIURL is the Graph API base; change it for a test fake. Default https://graph.facebook.com.
	APIURL string `yaml:"api_url"`
	// APIVersion is the Graph API version every request names. Default v21.0.
	APIVersion string `yaml:"api_version"`
	// Template is sent instead of a reply once the player's 24-hour customer-service window
	// has closed; without one, such a reply is refused with a notice to the agents.
	Template Template `yaml:"template"`
	// RateLimit paces sends (see RateLimit).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// Template is an approved message template of the WhatsApp Business Account.
type Template struct {
	// Name is the template's name as approved in WhatsApp Manager; empty means none.
	Name string `yaml:"name"`
	// Language is the template's language code as approved (en, en_US, de). Default en.
	Language string `yaml:"language"`
	// BodyParameter passes the agent's reply text as the body's one parameter {{1}}; the
	// template must then have exactly one body variable. Off: the template is sent as it is
	// (e.g. "We have answered your question; reply to this message to read it").
	BodyParameter bool `yaml:"body_parameter"`
}

// RateLimit paces the replies sent from the number.
type RateLimit struct {
	// PerChatInterval is the least time between two messages to one player. Meta allows about
	// one every six seconds per player (error 131056 beyond, after a short burst). Default 6s.
	PerChatInterval time.Duration `yaml:"per_chat_interval"`
	// GlobalPerSecond is how many messages a second the number sends in all; the Cloud API
	// takes 80 (error 130429 beyond). Default 20.
	GlobalPerSecond float64 `yaml:"global_per_second"`
	// Burst is how many messages may go at once before the pacing applies. Default 5.
	Burst int `yaml:"burst"`
}

var (
	phoneNumberIDPattern = regexp.MustCompile(`^[0-9]{1,32}$`)
	apiVersionPattern    = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
	templateNamePattern  = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	templateLangPattern  = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$`)
)

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		APIURL:     "https://graph.facebook.com",
		APIVersion: "v21.0",
		Template:   Template{Language: "en"},
		RateLimit:  RateLimit{PerChatInterval: 6 * time.Second, GlobalPerSecond: 20, Burst: 5},
	}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	if !phoneNumberIDPattern.MatchString(c.PhoneNumberID) {
		p.Add("phone_number_id", "required: the phone number ID from WhatsApp Manager, digits only")
	}
	for _, s := range []struct {
		key string
		v   settings.Secret
	}{{"access_token", c.AccessToken}, {"app_secret", c.AppSecret}, {"verify_token", c.VerifyToken}} {
		if s.v.Value() == "" {
			p.Add(s.key, "required")
		}
	}
	settings.CheckHTTPURL(p, "api_url", c.APIURL, true)
	if !apiVersionPattern.MatchString(c.APIVersion) {
		p.Addf("api_version", "want a Graph API version such as v21.0, got %s", settings.Quote(c.APIVersion))
	}
	if c.Template.Name != "" && !templateNamePattern.MatchString(c.Template.Name) {
		p.Addf("template.name", "want a template name of a-z, 0-9 and _, got %s", settings.Quote(c.Template.Name))
	}
	if !templateLangPattern.MatchString(c.Template.Language) {
		p.Addf("template.language", "want a template language code such as en or en_US, got %s", settings.Quote(c.Template.Language))
	}
	if c.RateLimit.PerChatInterval < 0 || c.RateLimit.PerChatInterval > time.Hour {
		p.Add("rate_limit.per_chat_interval", "want 0s to 1h")
	}
	if c.RateLimit.GlobalPerSecond <= 0 || c.RateLimit.GlobalPerSecond > 1000 {
		p.Add("rate_limit.global_per_second", "want more than 0 and at most 1000")
	}
	if c.RateLimit.Burst < 1 || c.RateLimit.Burst > 100 {
		p.Add("rate_limit.burst", "want 1 to 100")
	}
}
