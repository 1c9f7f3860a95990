package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"
)

// Telegram is a Telegram bot: players write to it in private chats, agents' replies are sent
// back through the Bot API. Updates arrive by long polling (the default: works behind NAT, no
// public URL needed) or by webhook at /hooks/{name}.
type Telegram struct {
	// Token is the bot token from @BotFather. Required.
	Token Secret `yaml:"token"`
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
	WebhookSecret Secret `yaml:"webhook_secret"`
	// PlayerSecret is the HMAC key the casino backend signs /start deep-link payloads with
	// (see docs/telegram.md); at least 16 bytes. Empty means players chat anonymously.
	PlayerSecret Secret `yaml:"player_secret"`
	// AllowGroups accepts messages from group chats too; by default only private chats,
	// since a support conversation belongs to one player.
	AllowGroups bool `yaml:"allow_groups"`
	// PollTimeout is the long-poll wait of one getUpdates call. Default 30s; at most 50s,
	// which Telegram clamps to anyway.
	PollTimeout time.Duration `yaml:"poll_timeout"`
}

// minPlayerSecret is the shortest player_secret accepted: 128 bits, if random.
const minPlayerSecret = 16

var (
	// telegramTokenPattern is BotFather's format, "<bot id>:<secret>"; it also keeps the token
	// safe to put into a URL path.
	telegramTokenPattern = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)
	// webhookSecretPattern is what setWebhook accepts as secret_token.
	webhookSecretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	updateTypePattern    = regexp.MustCompile(`^[a-z_]+$`)
)

func (s *Telegram) presets() {
	s.Mode = "polling"
	s.APIURL = "https://api.telegram.org"
	s.AllowedUpdates = []string{"message", "edited_message"}
	s.PollTimeout = 30 * time.Second
}

// derive sets the default greeting; like Webchat's, it is not a preset because the decoder
// adds a file's greetings to a map instead of replacing it.
func (s *Telegram) derive(c *Config, name string) {
	if s.Greetings == nil {
		s.Greetings = map[string]string{"en": "Hi! How can we help you today?"}
	}
}

func (s *Telegram) validate(path string, p *problems) {
	switch tok := s.Token.Value(); {
	case tok == "":
		p.add(joinKey(path, "token"), "required")
	case !telegramTokenPattern.MatchString(tok):
		p.add(joinKey(path, "token"), "want a bot token as given by @BotFather, such as 123456:ABC-def")
	}
	switch s.Mode {
	case "polling":
		if s.WebhookSecret != "" && !webhookSecretPattern.MatchString(s.WebhookSecret.Value()) {
			p.add(joinKey(path, "webhook_secret"), "want 1 to 256 of A-Z, a-z, 0-9, _ and -")
		}
	case "webhook":
		if !webhookSecretPattern.MatchString(s.WebhookSecret.Value()) {
			p.add(joinKey(path, "webhook_secret"), "required in webhook mode: 1 to 256 of A-Z, a-z, 0-9, _ and -")
		}
	default:
		p.add(joinKey(path, "mode"), fmt.Sprintf("want polling or webhook, got %s", quote(s.Mode)))
	}
	if ps := s.PlayerSecret.Value(); ps != "" && len(ps) < minPlayerSecret {
		p.add(joinKey(path, "player_secret"), fmt.Sprintf("want at least %d bytes, got %d", minPlayerSecret, len(ps)))
	}
	checkHTTPURL(p, joinKey(path, "api_url"), s.APIURL, true)
	for i, u := range s.AllowedUpdates {
		if !updateTypePattern.MatchString(u) {
			p.add(fmt.Sprintf("%s[%d]", joinKey(path, "allowed_updates"), i), fmt.Sprintf("want an update type such as message, got %s", quote(u)))
		}
	}
	for _, lang := range slices.Sorted(maps.Keys(s.Greetings)) {
		if !languagePattern.MatchString(lang) {
			p.add(keyPath(joinKey(path, "greetings"), lang), "want a language tag such as en or pt-BR as key")
		}
	}
	if s.PollTimeout < 0 || s.PollTimeout > 50*time.Second {
		p.add(joinKey(path, "poll_timeout"), "want 0s to 50s")
	}
}
