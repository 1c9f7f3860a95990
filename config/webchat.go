package config

import (
	"fmt"
	"maps"
	"mime"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
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
	colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	// pathPattern is one or more segments without empty ones or a trailing slash, because the
	// connectors serve Path and Path + "/...".
	pathPattern = regexp.MustCompile(`^(/[a-z0-9][a-z0-9_-]*)+$`)
	// bcryptPattern is the modular crypt format of bcrypt with a cost from 4 to 31.
	bcryptPattern = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)
)

// DefaultUploadTypes are what players may attach unless configured: screenshots and KYC scans.
var DefaultUploadTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}

func (s *Webchat) presets() {
	s.Path = "/chat"
	s.Title = "Support"
	s.Color = "#0b5fff"
	s.TokenTTL = 30 * 24 * time.Hour
	s.MessagesPerMinute = 20
	s.UploadTypes = slices.Clone(DefaultUploadTypes)
}

// derive sets the default greeting. It is not a preset because the decoder adds a file's
// greetings to a map instead of replacing it; nil still tells "not configured" from {}.
func (s *Webchat) derive(c *Config, name string) {
	if s.Greetings == nil {
		s.Greetings = map[string]string{"en": "Hi! How can we help you today?"}
	}
}

func (s *Webchat) validate(path string, p *problems) {
	checkPath(p, joinKey(path, "path"), s.Path)
	if !colorPattern.MatchString(s.Color) {
		p.add(joinKey(path, "color"), fmt.Sprintf("want a colour as #rrggbb, got %s", quote(s.Color)))
	}
	for _, lang := range slices.Sorted(maps.Keys(s.Greetings)) {
		if !languagePattern.MatchString(lang) {
			p.add(keyPath(joinKey(path, "greetings"), lang), "want a language tag such as en or pt-BR as key")
		}
	}
	if s.TokenTTL < time.Minute {
		p.add(joinKey(path, "token_ttl"), "must be at least 1m")
	}
	for i, o := range s.AllowedOrigins {
		checkOrigin(p, fmt.Sprintf("%s[%d]", joinKey(path, "allowed_origins"), i), o)
	}
	if s.MessagesPerMinute < 1 {
		p.add(joinKey(path, "messages_per_minute"), "must be at least 1")
	}
	for i, t := range s.UploadTypes {
		// ParseMediaType also takes a bare "pdf" and lower-cases; want exactly type/subtype.
		mt, _, err := mime.ParseMediaType(t)
		typ, sub, _ := strings.Cut(mt, "/")
		if err != nil || mt != t || typ == "" || sub == "" || strings.Contains(t, "*") {
			p.add(fmt.Sprintf("%s[%d]", joinKey(path, "upload_types"), i), fmt.Sprintf("want a media type such as application/pdf, got %s", quote(t)))
		}
	}
}

func (s *Inbox) presets() {
	s.Path = "/inbox"
	s.SessionTTL = 12 * time.Hour
}

// derive puts the database into data_dir, named after the instance.
func (s *Inbox) derive(c *Config, name string) {
	if s.Database == "" && c.DataDir != "" {
		s.Database = filepath.Join(c.DataDir, name+".db")
	}
}

func (s *Inbox) validate(path string, p *problems) {
	checkPath(p, joinKey(path, "path"), s.Path)
	// Empty only when data_dir is, or in a Config built in code without defaults.
	if s.Database == "" {
		p.add(joinKey(path, "database"), "required")
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

func (s *Webchat) pagePath() string { return s.Path }
func (s *Inbox) pagePath() string   { return s.Path }

func (s *Inbox) databaseFile() string { return s.Database }

// reservedPaths are served by the gateway itself, with everything below them.
var reservedPaths = []string{"/api", "/hooks", "/metrics", "/healthz", "/readyz"}

// checkPath requires a page path that the gateway does not serve itself and reports whether
// it is one.
func checkPath(p *problems, path, v string) bool {
	if !validPagePath(v) {
		p.add(path, fmt.Sprintf("want a URL path such as /chat, not one the gateway uses itself, got %s", quote(v)))
		return false
	}
	return true
}

func validPagePath(v string) bool {
	if !pathPattern.MatchString(v) {
		return false
	}
	for _, r := range reservedPaths {
		if pathWithin(v, r) {
			return false
		}
	}
	return true
}

// pathWithin reports whether the page path v is base or below it.
func pathWithin(v, base string) bool {
	return v == base || strings.HasPrefix(v, base+"/")
}

// checkOrigin requires a bare web origin, scheme://host[:port], as browsers send it in the
// Origin header.
func checkOrigin(p *problems, path, o string) {
	u, err := url.Parse(o)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		p.add(path, fmt.Sprintf("want an origin such as https://casino.example, got %s", quote(o)))
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(o, "#"):
		p.add(path, fmt.Sprintf("want scheme://host[:port] without a path, query or user, got %s", quote(o)))
	}
}
