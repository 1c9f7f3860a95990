package config

import (
	"fmt"
	"mime"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Webchat is the web live chat: a player page at Path and an embeddable widget at
// Path + "/widget.js", talking to the gateway over WebSocket (long-poll fallback).
type Webchat struct {
	// Path is where the player page is served. Default /chat.
	Path string `yaml:"path"`
	// Title heads the chat window. Default "Support".
	Title string `yaml:"title"`
	// Greetings are shown before the first message, by language tag; "en" is the fallback.
	Greetings map[string]string `yaml:"greetings"`
	// Color is the accent colour as #rrggbb. Default #0b5fff.
	Color string `yaml:"color"`
	// TokenSecret signs visitor tokens. Default: generated on first start and kept in
	// <data_dir>/secrets/<name>.key, so tokens survive restarts.
	TokenSecret Secret `yaml:"token_secret"`
	// PlayerSecret is the HMAC key the casino backend signs player identities with (see
	// docs/webchat.md); empty means players chat anonymously.
	PlayerSecret Secret `yaml:"player_secret"`
	// TokenTTL is how long a visitor token (and so the visitor's history) stays valid. Default 720h.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// AllowedOrigins are the sites that may embed the widget (scheme://host[:port]). The
	// gateway's own public_url is always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MessagesPerMinute caps one conversation's messages; more get a clear notice. Default 20.
	MessagesPerMinute int `yaml:"messages_per_minute"`
	// UploadTypes are the media types players may attach. Default: PNG, JPEG, GIF, WebP, PDF.
	UploadTypes []string `yaml:"upload_types"`
}

// Inbox is the built-in agent inbox at Path.
type Inbox struct {
	// Path is where agents sign in. Default /inbox.
	Path string `yaml:"path"`
	// Database holds agents, sessions and inbox state. Default <data_dir>/inbox.db.
	Database string `yaml:"database"`
	// Agents from the configuration; with none configured and none stored, the first start
	// creates "admin" with a random password and prints it once.
	Agents []InboxAgent `yaml:"agents"`
	// FirstResponse is the SLA for a first agent answer. Default 5m.
	FirstResponse time.Duration `yaml:"first_response"`
	// SessionTTL is how long an agent stays signed in. Default 12h.
	SessionTTL time.Duration `yaml:"session_ttl"`
}

// InboxAgent is one agent account.
type InboxAgent struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"display_name"`
	// PasswordHash is a bcrypt hash (gateway inbox-password prints one).
	PasswordHash Secret `yaml:"password_hash"`
}

var (
	colorPattern  = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	pathPattern   = regexp.MustCompile(`^/[a-z0-9][a-z0-9/_-]*$`)
	bcryptPattern = regexp.MustCompile(`^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$`)
)

// DefaultUploadTypes are what players may attach unless configured: screenshots and KYC scans.
var DefaultUploadTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}

func (s *Webchat) defaults(c *Config, name string) {
	setDefault(&s.Path, "/chat")
	setDefault(&s.Title, "Support")
	setDefault(&s.Color, "#0b5fff")
	if s.Greetings == nil {
		s.Greetings = map[string]string{"en": "Hi! How can we help you today?"}
	}
	if s.TokenTTL == 0 {
		s.TokenTTL = 30 * 24 * time.Hour
	}
	if s.MessagesPerMinute == 0 {
		s.MessagesPerMinute = 20
	}
	if s.UploadTypes == nil {
		s.UploadTypes = append([]string(nil), DefaultUploadTypes...)
	}
}

func (s *Webchat) validate(path string, p *problems) {
	checkPath(p, joinKey(path, "path"), s.Path)
	if !colorPattern.MatchString(s.Color) {
		p.add(joinKey(path, "color"), fmt.Sprintf("want a colour as #rrggbb, got %s", quote(s.Color)))
	}
	for lang := range s.Greetings {
		if !languagePattern.MatchString(lang) {
			p.add(joinKey(path, "greetings."+lang), "want a language tag such as en or pt-BR as key")
		}
	}
	if s.TokenTTL < time.Minute {
		p.add(joinKey(path, "token_ttl"), "must be at least 1m")
	}
	for i, o := range s.AllowedOrigins {
		checkHTTPURL(p, fmt.Sprintf("%s[%d]", joinKey(path, "allowed_origins"), i), o, true)
		if strings.Count(o, "/") > 2 {
			p.add(fmt.Sprintf("%s[%d]", joinKey(path, "allowed_origins"), i), "want scheme://host[:port] without a path")
		}
	}
	if s.MessagesPerMinute < 1 {
		p.add(joinKey(path, "messages_per_minute"), "must be at least 1")
	}
	for i, t := range s.UploadTypes {
		if mt, _, err := mime.ParseMediaType(t); err != nil || mt != t || strings.Contains(t, "*") {
			p.add(fmt.Sprintf("%s[%d]", joinKey(path, "upload_types"), i), fmt.Sprintf("want a media type such as application/pdf, got %s", quote(t)))
		}
	}
}

func (s *Inbox) defaults(c *Config, name string) {
	setDefault(&s.Path, "/inbox")
	if s.Database == "" && c.DataDir != "" {
		s.Database = filepath.Join(c.DataDir, name+".db")
	}
	if s.FirstResponse == 0 {
		s.FirstResponse = 5 * time.Minute
	}
	if s.SessionTTL == 0 {
		s.SessionTTL = 12 * time.Hour
	}
}

func (s *Inbox) validate(path string, p *problems) {
	checkPath(p, joinKey(path, "path"), s.Path)
	if s.FirstResponse <= 0 {
		p.add(joinKey(path, "first_response"), "must be positive")
	}
	if s.SessionTTL < time.Minute {
		p.add(joinKey(path, "session_ttl"), "must be at least 1m")
	}
	seen := map[string]bool{}
	for i, a := range s.Agents {
		ap := fmt.Sprintf("%s[%d]", joinKey(path, "agents"), i)
		if checkName(p, ap+".name", a.Name) && seen[a.Name] {
			p.add(ap+".name", fmt.Sprintf("duplicate agent %s", quote(a.Name)))
		}
		seen[a.Name] = true
		if !bcryptPattern.MatchString(a.PasswordHash.Value()) {
			p.add(ap+".password_hash", "want a bcrypt hash ($2a$/$2b$...); `gateway inbox-password` prints one")
		}
	}
}

func checkPath(p *problems, path, v string) {
	if !pathPattern.MatchString(v) || strings.HasPrefix(v, "/api/") || strings.HasPrefix(v, "/hooks/") ||
		v == "/api" || v == "/hooks" || v == "/metrics" || v == "/healthz" || v == "/readyz" {
		p.add(path, fmt.Sprintf("want a URL path such as /chat, not one the gateway uses itself, got %s", quote(v)))
	}
}

func setDefault(v *string, d string) {
	if *v == "" {
		*v = d
	}
}
