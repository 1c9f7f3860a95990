package config

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// The loader knows no connector; its tests use these stand-ins, named after the types they
// imitate so the embedded default (a webchat and an inbox) parses. Each has what a kind of
// connector setting exercises in the loader: required URLs, secrets, a page path, a database
// file, a derived map and list defaults.

// testLoopback is a channel's settings with a required URL and an optional secret.
type testLoopback struct {
	SendURL string `yaml:"send_url"`
	Secret  Secret `yaml:"secret"`
}

func (s *testLoopback) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "send_url", s.SendURL, true)
}

// testDesk is a helpdesk's loopback settings.
type testDesk struct {
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
}

func (s *testDesk) Validate(p *settings.Problems) {
	settings.CheckHTTPURL(p, "url", s.URL, true)
}

// testTelegram has a required secret.
type testTelegram struct {
	Token Secret `yaml:"token"`
}

func (s *testTelegram) Validate(p *settings.Problems) {
	if s.Token == "" {
		p.Add("token", "required")
	}
}

// testWebchat serves a page and has a derived map and a list default.
type testWebchat struct {
	Path        string            `yaml:"path"`
	Greetings   map[string]string `yaml:"greetings"`
	TokenSecret Secret            `yaml:"token_secret"`
	TokenTTL    time.Duration     `yaml:"token_ttl"`
	UploadTypes []string          `yaml:"upload_types"`
}

var testUploadTypes = []string{"image/png", "application/pdf"}

func newTestWebchat() settings.Settings {
	return &testWebchat{Path: "/chat", TokenTTL: time.Hour, UploadTypes: slices.Clone(testUploadTypes)}
}

func (s *testWebchat) Derive(settings.Env) {
	if s.Greetings == nil {
		s.Greetings = map[string]string{"en": "Hi!"}
	}
}

func (s *testWebchat) Validate(p *settings.Problems) {
	settings.CheckPagePath(p, "path", s.Path)
	settings.CheckLanguageKeys(p, "greetings", s.Greetings)
	if s.TokenTTL < time.Minute {
		p.Add("token_ttl", "must be at least 1m")
	}
}

func (s *testWebchat) PagePath() string { return s.Path }

// testInbox serves a page and keeps a database named after the instance in data_dir.
type testInbox struct {
	Path     string           `yaml:"path"`
	Database string           `yaml:"database"`
	Agents   []testInboxAgent `yaml:"agents"`
}

type testInboxAgent struct {
	Name         string `yaml:"name"`
	PasswordHash Secret `yaml:"password_hash"`
}

func (s *testInbox) Derive(env settings.Env) {
	if s.Database == "" && env.DataDir != "" {
		s.Database = filepath.Join(env.DataDir, env.Name+".db")
	}
}

func (s *testInbox) Validate(p *settings.Problems) {
	settings.CheckPagePath(p, "path", s.Path)
	if s.Database == "" {
		p.Add("database", "required")
	}
	for i, a := range s.Agents {
		settings.CheckName(p, settings.Index("agents", i)+".name", a.Name)
	}
}

func (s *testInbox) PagePath() string     { return s.Path }
func (s *testInbox) DatabaseFile() string { return s.Database }

// testCatalog is the catalog of the loader's tests.
var testCatalog = Catalog{
	Channels: map[string]NewSettings{
		"loopback": func() settings.Settings { return &testLoopback{} },
		"telegram": func() settings.Settings { return &testTelegram{} },
		"webchat":  newTestWebchat,
	},
	Helpdesks: map[string]NewSettings{
		"loopback": func() settings.Settings { return &testDesk{} },
		"inbox":    func() settings.Settings { return &testInbox{Path: "/inbox"} },
	},
	StoreDrivers: []string{"sqlite", "postgres"},
}
