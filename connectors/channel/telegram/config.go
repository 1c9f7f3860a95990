package telegram

import (
	"fmt"
	"regexp"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is a Telegram bot: players write to it in private chats, agents' replies are sent
// back through the Bot API. Updates arrive by long polling (the default: works behind NAT, no
// public URL needed) or by webhook at /hooks/{name}.
type Config struct {
	// Token is the bot token from @BotFather. Required.
	Token settings.Secret `yaml:"token"`
	// Mode is polling (default) or webhook.
	Mode string `yaml:"mode"`
	// APIURL is the Bot API base; change it for a local Bot API server or a test fake.
	// Default https://api.telegram.org.
	APIURL string `yaml:"api_url"`
	// AllowedUpdates are the update types Telegram sends. Default message, edited_message.
	AllowedUpdates []string `yaml:"allowed_updates"`
	// Greetings answer /start, by the player's language tag; "en" is the fallback.
	Greetings map[string]string `yaml:"greetings"`
	// WebhookSecret is sent by Telegram in X-Telegram-Bot-Api-Secret-Token on every webhook
	// call; required in webhook mode, 1-256 of A-Za-z0-9_-.
	WebhookSecret settings.Secret `yaml:"webhook_secret"`
	// PlayerSecret is the HMAC key the casino backend signs /start deep-link payloads with
	// (see docs/telegram.md); at least 16 bytes. Empty means players chat anonymously.
	PlayerSecret settings.Secret `yaml:"player_secret"`
	// AllowGroups accepts messages from group chats too; by default only private chats,
	// since a support conversation belongs to one player.
	AllowGroups bool `yaml:"allow_groups"`
	// CallbackRequests lets players ask to be called back in a private chat: /callback
	// answers with a button that shares their own phone number, which becomes a call-back
	// request (docs/voice.md). Off by default: offer it where agents can call players.
	CallbackRequests bool `yaml:"callback_requests"`
	// PollTimeout is the long-poll wait of one getUpdates call. Default 30s; at most 50s,
	// which Telegram clamps to anyway.
	PollTimeout time.Duration `yaml:"poll_timeout"`
}

// minPlayerSecret is the shortest player_secret accepted: 128 bits, if random.
const minPlayerSecret = 16

var (
	// tokenPattern is BotFather's format, "<bot id>:<secret>"; it also keeps the token safe
	// to put into a URL path.
	tokenPattern = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)
	// webhookSecretPattern is what setWebhook accepts as secret_token.
	webhookSecretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	updateTypePattern    = regexp.MustCompile(`^[a-z_]+$`)
)

// DefaultConfig returns the settings with their defaults; Greetings gets its default from
// Derive, since the loader adds a file's greetings to a map instead of replacing it.
func DefaultConfig() *Config {
	return &Config{
		Mode:           "polling",
		APIURL:         "https://api.telegram.org",
		AllowedUpdates: []string{"message", "edited_message"},
		PollTimeout:    30 * time.Second,
	}
}

// Derive sets the default greeting when the file gives none.
func (c *Config) Derive(settings.Env) {
	if c.Greetings == nil {
		c.Greetings = map[string]string{"en": "Hi! How can we help you today?"}
	}
}

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	switch tok := c.Token.Value(); {
	case tok == "":
		p.Add("token", "required")
	case !tokenPattern.MatchString(tok):
		p.Add("token", "want a bot token as given by @BotFather, such as 123456:ABC-def")
	}
	switch c.Mode {
	case "polling":
		if c.WebhookSecret != "" && !webhookSecretPattern.MatchString(c.WebhookSecret.Value()) {
			p.Add("webhook_secret", "want 1 to 256 of A-Z, a-z, 0-9, _ and -")
		}
	case "webhook":
		if !webhookSecretPattern.MatchString(c.WebhookSecret.Value()) {
			p.Add("webhook_secret", "required in webhook mode: 1 to 256 of A-Z, a-z, 0-9, _ and -")
		}
	default:
		p.Addf("mode", "want polling or webhook, got %s", settings.Quote(c.Mode))
	}
	if ps := c.PlayerSecret.Value(); ps != "" && len(ps) < minPlayerSecret {
		p.Addf("player_secret", "want at least %d bytes, got %d", minPlayerSecret, len(ps))
	}
	settings.CheckHTTPURL(p, "api_url", c.APIURL, true)
	for i, u := range c.AllowedUpdates {
		if !updateTypePattern.MatchString(u) {
			p.Add(settings.Index("allowed_updates", i), fmt.Sprintf("want an update type such as message, got %s", settings.Quote(u)))
		}
	}
	settings.CheckLanguageKeys(p, "greetings", c.Greetings)
	if c.PollTimeout < 0 || c.PollTimeout > 50*time.Second {
		p.Add("poll_timeout", "want 0s to 50s")
	}
}
