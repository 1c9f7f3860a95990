package webchat

import (
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/connectors/phone"
	"github.com/casino-support/gateway/connectors/settings"
)

// Config is the web live chat: a player page at Path and an embeddable widget at
// Path + "/widget.js", talking to the gateway over WebSocket (long-poll fallback).
type Config struct {
	// Path is where the player page is served. Default /chat.
	Path string `yaml:"path"`
	// Title heads the chat window. Default "Support".
	Title string `yaml:"title"`
	// Greetings are shown before the first message, by language tag; "en" is the fallback.
	Greetings map[string]string `yaml:"greetings"`
	// Strings override the page's own words (placeholder, button, notices) by language tag
	// and string key, e.g. {de: {send: "Abschicken"}}; docs/webchat.md lists the keys. A
	// language that is not built in may be added: its missing keys come from English.
	Strings map[string]map[string]string `yaml:"strings"`
	// Color is the accent colour as #rrggbb. Default #0b5fff.
	Color string `yaml:"color"`
	// TokenSecret signs visitor tokens. Default: generated on first start and kept in
	// <data_dir>/secrets/<name>.key, so tokens survive restarts.
	TokenSecret settings.Secret `yaml:"token_secret"`
	// PlayerSecret is the HMAC key the casino backend signs player identities with (see
	// docs/webchat.md); empty means players chat anonymously.
	PlayerSecret settings.Secret `yaml:"player_secret"`
	// TokenTTL is how long a visitor token (and so the visitor's history) stays valid. Default 720h.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// AllowedOrigins are the sites that may embed the widget (scheme://host[:port]). The
	// gateway's own public_url is always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MessagesPerMinute caps one conversation's messages; more get a clear notice. Default 20.
	MessagesPerMinute int `yaml:"messages_per_minute"`
	// UploadTypes are the media types players may attach. Default: PNG, JPEG, GIF, WebP, PDF.
	UploadTypes []string `yaml:"upload_types"`
	// PerAddress caps what one client address may do across all its conversations.
	PerAddress AddressLimits `yaml:"per_address"`
	// MaxConnections caps the open WebSockets and waiting long polls of this chat, so a flood
	// of connections cannot exhaust the process. Default 10000.
	MaxConnections int `yaml:"max_connections"`
	// CallbackRequests shows players a "Request a call-back" action that asks for their phone
	// number and an optional preferred time; the request reaches agents flagged as one
	// (docs/voice.md). Off by default: offer it where agents call players.
	CallbackRequests bool `yaml:"callback_requests"`
	// CallbackRegion reads a number a player types without a country code as a number of
	// this ISO 3166 region ("DE"). Empty asks players for the international form (+49…).
	CallbackRegion string `yaml:"callback_region"`
}

// AddressLimits are per client address (connectors.ClientKey: behind trusted proxies the
// forwarded address, an IPv6 one by its /64). The per-conversation limit alone does not stop a
// script that starts a new visitor for every message. Players behind one carrier-grade NAT
// share an address, so the defaults are far above what real players on one address do.
type AddressLimits struct {
	// NewVisitorsPerMinute caps the anonymous visitors started (a hello without a visitor
	// token). Returning visitors and players with a player token do not count. Default 30.
	NewVisitorsPerMinute int `yaml:"new_visitors_per_minute"`
	// MessagesPerMinute caps the messages and uploads of all conversations. Default 300.
	MessagesPerMinute int `yaml:"messages_per_minute"`
	// UploadBytesPerHour caps the bytes of uploaded files. Default 1 GiB.
	UploadBytesPerHour int64 `yaml:"upload_bytes_per_hour"`
	// Connections caps the open WebSockets and waiting long polls. Default 200.
	Connections int `yaml:"connections"`
}

// DefaultUploadTypes are what players may attach unless configured: screenshots and KYC scans,
// the types the chat shows back inline (PNG, JPEG, GIF, WebP, PDF).
var DefaultUploadTypes = media.Known(func(t media.Type) bool { return t.SafeInline })

// DefaultConfig returns the settings with their defaults; Greetings gets its default from
// Derive, since the loader adds a file's greetings to a map instead of replacing it.
func DefaultConfig() *Config {
	return &Config{
		Path:              "/chat",
		Title:             "Support",
		Color:             "#0b5fff",
		TokenTTL:          30 * 24 * time.Hour,
		MessagesPerMinute: 20,
		UploadTypes:       slices.Clone(DefaultUploadTypes),
		PerAddress: AddressLimits{
			NewVisitorsPerMinute: 30,
			MessagesPerMinute:    300,
			UploadBytesPerHour:   1 << 30,
			Connections:          200,
		},
		MaxConnections: 10000,
	}
}

// Derive sets the default greeting when the file gives none; nil still tells "not
// configured" from {}.
func (c *Config) Derive(settings.Env) {
	if c.Greetings == nil {
		c.Greetings = map[string]string{"en": "Hi! How can we help you today?"}
	}
}

// PagePath implements settings.PageOwner.
func (c *Config) PagePath() string { return c.Path }

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	settings.CheckPagePath(p, "path", c.Path)
	if !colorPattern.MatchString(c.Color) {
		p.Addf("color", "want a colour as #rrggbb, got %s", settings.Quote(c.Color))
	}
	settings.CheckLanguageKeys(p, "greetings", c.Greetings)
	checkStrings(p, "strings", c.Strings)
	for _, s := range []struct {
		key   string
		value settings.Secret
	}{{"token_secret", c.TokenSecret}, {"player_secret", c.PlayerSecret}} {
		if n := len(s.value.Value()); n > 0 && n < minSecretLen {
			p.Addf(s.key, "want at least %d bytes, got %d", minSecretLen, n)
		}
	}
	if c.TokenTTL < time.Minute {
		p.Add("token_ttl", "must be at least 1m")
	}
	for i, o := range c.AllowedOrigins {
		checkOrigin(p, settings.Index("allowed_origins", i), o)
	}
	if c.MessagesPerMinute < 1 {
		p.Add("messages_per_minute", "must be at least 1")
	}
	if c.CallbackRegion != "" && !phone.ValidRegion(c.CallbackRegion) {
		p.Addf("callback_region", "want an ISO 3166 region code such as DE or GB, got %s", settings.Quote(c.CallbackRegion))
	}
	for _, l := range []struct {
		key   string
		value int64
	}{
		{"per_address.new_visitors_per_minute", int64(c.PerAddress.NewVisitorsPerMinute)},
		{"per_address.messages_per_minute", int64(c.PerAddress.MessagesPerMinute)},
		{"per_address.upload_bytes_per_hour", c.PerAddress.UploadBytesPerHour},
		{"per_address.connections", int64(c.PerAddress.Connections)},
		{"max_connections", int64(c.MaxConnections)},
	} {
		if l.value < 1 {
			p.Addf(l.key, "must be at least 1, got %d", l.value)
		}
	}
	for i, t := range c.UploadTypes {
		// ParseMediaType also takes a bare "pdf" and lower-cases; want exactly type/subtype.
		mt, _, err := mime.ParseMediaType(t)
		typ, sub, _ := strings.Cut(mt, "/")
		if err != nil || mt != t || typ == "" || sub == "" || strings.Contains(t, "*") {
			p.Add(settings.Index("upload_types", i), fmt.Sprintf("want a media type such as application/pdf, got %s", settings.Quote(t)))
		}
	}
}

// checkOrigin requires a bare web origin, scheme://host[:port], as browsers send it in the
// Origin header.
func checkOrigin(p *settings.Problems, key, o string) {
	u, err := url.Parse(o)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		p.Addf(key, "want an origin such as https://casino.example, got %s", settings.Quote(o))
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(o, "#"):
		p.Addf(key, "want scheme://host[:port] without a path, query or user, got %s", settings.Quote(o))
	}
}
