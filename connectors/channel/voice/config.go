package voice

import (
	"net/url"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/phone"
	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one support phone line at Twilio or Vonage: the provider calls the gateway's
// webhooks, callers hear a greeting in their language and leave a voicemail or ask for a
// call-back, and agents' replies go back to the caller as SMS.
type Config struct {
	// Provider is twilio or vonage. Required.
	Provider string `yaml:"provider"`
	// HookURL is the URL the provider requests for an incoming call, as pasted into its
	// console; the callbacks' URLs lie below it. Both providers sign what they requested
	// (Twilio: the full URL), so it must be the URL as the provider sees it, behind any
	// proxy. Default: the gateway's public_url + /hooks/{name}.
	HookURL string `yaml:"hook_url"`

	// Twilio holds the Twilio account's credentials (provider twilio).
	Twilio TwilioConfig `yaml:"twilio"`
	// Vonage holds the Vonage application's credentials (provider vonage).
	Vonage VonageConfig `yaml:"vonage"`

	// DefaultRegion is the ISO 3166 region numbers without an international prefix are read
	// in ("DE"). Default: none; providers send E.164 anyway.
	DefaultRegion string `yaml:"default_region"`
	// DefaultLanguage is the greeting's language when neither the called number nor the
	// caller's prefix names one. Default en.
	DefaultLanguage string `yaml:"default_language"`
	// Numbers are the support line's numbers with their language, hours and menu. A call to a
	// number not listed gets the defaults: always open, the caller's language, no menu.
	Numbers []NumberConfig `yaml:"numbers"`
	// LanguagePrefixes maps caller number prefixes ("+43") to the greeting's language, on top
	// of the built-in table (country codes of the languages the greetings speak).
	LanguagePrefixes map[string]string `yaml:"language_prefixes"`
	// VIP lists the players known by their number, with their tier and the personal
	// manager's number calls are forwarded to during hours.
	VIP []VIPConfig `yaml:"vip"`
	// MaxRecording bounds a voicemail. Default 2m, the longest Twilio transcribes.
	MaxRecording time.Duration `yaml:"max_recording"`
	// Transcribe asks the provider for a transcript of each voicemail. Default true.
	Transcribe bool `yaml:"transcribe"`
	// TranscriptWait is how long a downloaded voicemail waits for its transcript before it
	// is delivered without one; a transcript that comes later follows as a message of its
	// own. Default 10m.
	TranscriptWait time.Duration `yaml:"transcript_wait"`
	// SMS is how agents' replies reach callers.
	SMS SMSConfig `yaml:"sms"`
}

// TwilioConfig is a Twilio account.
type TwilioConfig struct {
	// AccountSID is the account's SID (AC…). Required for twilio.
	AccountSID string `yaml:"account_sid"`
	// AuthToken signs Twilio's webhooks and authenticates REST requests. Required for twilio.
	AuthToken settings.Secret `yaml:"auth_token"`
	// APIURL is the REST API's base. Default https://api.twilio.com; recordings are only
	// downloaded from this host, so the credentials never go elsewhere.
	APIURL string `yaml:"api_url"`
}

// VonageConfig is a Vonage Voice API application.
type VonageConfig struct {
	// APIKey and APISecret authenticate the SMS API. Required for vonage.
	APIKey    string          `yaml:"api_key"`
	APISecret settings.Secret `yaml:"api_secret"`
	// SignatureSecret verifies the signed webhooks' JWT (HS256). Required for vonage.
	SignatureSecret settings.Secret `yaml:"signature_secret"`
	// ApplicationID and PrivateKey (PEM) sign the application JWT that downloads recordings
	// and transcripts. Required for vonage.
	ApplicationID string          `yaml:"application_id"`
	PrivateKey    settings.Secret `yaml:"private_key"`
	// APIURL is the Voice API's base, recordings are downloaded only from its host. Default
	// https://api.nexmo.com.
	APIURL string `yaml:"api_url"`
	// SMSURL is the SMS API's base. Default https://rest.nexmo.com.
	SMSURL string `yaml:"sms_url"`
}

// NumberConfig is one called number.
type NumberConfig struct {
	// Number is the support number as callers dial it, E.164. Required.
	Number string `yaml:"number"`
	// Language is the greeting's language for every caller of this number; empty picks it
	// by the caller's prefix.
	Language string `yaml:"language"`
	// Hours are the opening hours, such as "mon-fri 09:00-18:00" or "sat 10:00-14:00"; none
	// means always open. Out of hours callers hear them and may leave a voicemail.
	Hours []string `yaml:"hours"`
	// TimeZone is the IANA zone of Hours. Default UTC.
	TimeZone string `yaml:"time_zone"`
	// Menu offers "1 voicemail, 2 call-back" before recording. Default false: straight to
	// the voicemail.
	Menu bool `yaml:"menu"`
}

// VIPConfig is one VIP player known by number.
type VIPConfig struct {
	// Number is the player's number, E.164. Required.
	Number string `yaml:"number"`
	// Tier is the VIP tier, 1 or more; it raises the conversation's priority. Default 1.
	Tier int `yaml:"tier"`
	// PlayerID is the casino's ID of the player, shown on the ticket.
	PlayerID string `yaml:"player_id"`
	// ForwardTo is the personal manager's number calls are forwarded to during hours; a
	// forward nobody answers falls back to the voicemail. Empty: no forward.
	ForwardTo string `yaml:"forward_to"`
}

// SMSConfig is how replies reach callers.
type SMSConfig struct {
	// From is the sender number (or Twilio Messaging Service SID MG…). Required.
	From string `yaml:"from"`
	// Mode is always (try every number; the provider's landline refusal becomes a notice to
	// the agent) or prefixes (only numbers starting with one of mobile_prefixes get SMS; the
	// others a notice at once). Default always.
	Mode string `yaml:"mode"`
	// MobilePrefixes are the number ranges that receive SMS in mode prefixes ("+4915").
	MobilePrefixes []string `yaml:"mobile_prefixes"`
}

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		DefaultLanguage: "en",
		MaxRecording:    2 * time.Minute,
		Transcribe:      true,
		TranscriptWait:  10 * time.Minute,
		Twilio:          TwilioConfig{APIURL: "https://api.twilio.com"},
		Vonage:          VonageConfig{APIURL: "https://api.nexmo.com", SMSURL: "https://rest.nexmo.com"},
		SMS:             SMSConfig{Mode: "always"},
	}
}

// maxRecordingLimit is what both providers accept at most (Twilio: 4 hours; Vonage: 2 hours).
const maxRecordingLimit = 2 * time.Hour

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	switch c.Provider {
	case "twilio":
		if !strings.HasPrefix(c.Twilio.AccountSID, "AC") {
			p.Add("twilio.account_sid", "required: the account SID, AC…")
		}
		if c.Twilio.AuthToken.Value() == "" {
			p.Add("twilio.auth_token", "required")
		}
		settings.CheckHTTPURL(p, "twilio.api_url", c.Twilio.APIURL, true)
	case "vonage":
		v := c.Vonage
		for key, val := range map[string]string{"vonage.api_key": v.APIKey, "vonage.api_secret": v.APISecret.Value(),
			"vonage.signature_secret": v.SignatureSecret.Value(), "vonage.application_id": v.ApplicationID} {
			if val == "" {
				p.Add(key, "required")
			}
		}
		if _, err := parsePrivateKey(v.PrivateKey.Value()); err != nil {
			p.Add("vonage.private_key", "want the application's private key in PEM: "+err.Error())
		}
		settings.CheckHTTPURL(p, "vonage.api_url", v.APIURL, true)
		settings.CheckHTTPURL(p, "vonage.sms_url", v.SMSURL, true)
	case "":
		p.Add("provider", "required: twilio or vonage")
	default:
		p.Addf("provider", "want twilio or vonage, got %s", settings.Quote(c.Provider))
	}
	if settings.CheckHTTPURL(p, "hook_url", c.HookURL, false) && c.HookURL != "" {
		if u, _ := url.Parse(c.HookURL); u.RawQuery != "" || u.Fragment != "" {
			p.Add("hook_url", "want a URL without query or fragment; the callbacks' URLs are built below it")
		}
	}
	if c.DefaultRegion != "" && !phone.ValidRegion(c.DefaultRegion) {
		p.Addf("default_region", "want an ISO 3166 region such as DE, got %s", settings.Quote(c.DefaultRegion))
	}
	if !settings.LanguageTag(c.DefaultLanguage) {
		p.Addf("default_language", "want a language tag such as en, got %s", settings.Quote(c.DefaultLanguage))
	}
	c.validateNumbers(p)
	for prefix, lang := range c.LanguagePrefixes {
		key := settings.Key("language_prefixes", prefix)
		if !strings.HasPrefix(prefix, "+") || len(prefix) < 2 {
			p.Add(key, "want a number prefix such as +43")
		}
		if !settings.LanguageTag(lang) {
			p.Addf(key, "want a language tag such as de, got %s", settings.Quote(lang))
		}
	}
	c.validateVIP(p)
	if c.MaxRecording < time.Second || c.MaxRecording > maxRecordingLimit {
		p.Addf("max_recording", "want 1s to %s", maxRecordingLimit)
	}
	if c.TranscriptWait < 0 {
		p.Add("transcript_wait", "must not be negative")
	}
	if c.SMS.From == "" {
		p.Add("sms.from", "required: the number (or Twilio Messaging Service SID) replies are sent from")
	}
	switch c.SMS.Mode {
	case "always":
	case "prefixes":
		if len(c.SMS.MobilePrefixes) == 0 {
			p.Add("sms.mobile_prefixes", "required in mode prefixes")
		}
	default:
		p.Addf("sms.mode", "want always or prefixes, got %s", settings.Quote(c.SMS.Mode))
	}
	for i, prefix := range c.SMS.MobilePrefixes {
		if !strings.HasPrefix(prefix, "+") || len(prefix) < 2 {
			p.Add(settings.Index("sms.mobile_prefixes", i), "want a number prefix such as +4915")
		}
	}
}

func (c *Config) validateNumbers(p *settings.Problems) {
	seen := map[string]bool{}
	for i, n := range c.Numbers {
		key := settings.Index("numbers", i)
		e164, err := phone.E164(n.Number, c.DefaultRegion)
		switch {
		case err != nil:
			p.Add(settings.Join(key, "number"), "want a phone number such as +493012345678")
		case seen[e164]:
			p.Add(settings.Join(key, "number"), "listed twice")
		}
		seen[e164] = true
		if n.Language != "" && !settings.LanguageTag(n.Language) {
			p.Addf(settings.Join(key, "language"), "want a language tag such as de, got %s", settings.Quote(n.Language))
		}
		if _, err := time.LoadLocation(n.TimeZone); err != nil {
			p.Addf(settings.Join(key, "time_zone"), "want an IANA time zone such as Europe/Berlin, got %s", settings.Quote(n.TimeZone))
		}
		for j, h := range n.Hours {
			if _, err := parseHours(h); err != nil {
				p.Add(settings.Index(settings.Join(key, "hours"), j), err.Error())
			}
		}
	}
}

func (c *Config) validateVIP(p *settings.Problems) {
	seen := map[string]bool{}
	for i, v := range c.VIP {
		key := settings.Index("vip", i)
		e164, err := phone.E164(v.Number, c.DefaultRegion)
		switch {
		case err != nil:
			p.Add(settings.Join(key, "number"), "want a phone number such as +4915112345678")
		case seen[e164]:
			p.Add(settings.Join(key, "number"), "listed twice")
		}
		seen[e164] = true
		if v.Tier < 0 {
			p.Add(settings.Join(key, "tier"), "want 1 or more (0 means the default, 1)")
		}
		if v.ForwardTo != "" {
			if _, err := phone.E164(v.ForwardTo, c.DefaultRegion); err != nil {
				p.Add(settings.Join(key, "forward_to"), "want a phone number such as +493012345678")
			}
		}
	}
}
