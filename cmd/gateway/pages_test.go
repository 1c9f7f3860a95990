package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/connectors/settings"
)

// The pages of the web chat and the inbox share the one listener and the data directory, so
// besides each type's own settings the loader checks the paths and database files they claim
// from one another; both are tested here, on configurations as the loader made them.

// A bcrypt hash as `gateway inbox-password --hash` prints it.
const agentHash = "$2a$12$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"

func TestPagesConfigIsValid(t *testing.T) {
	require.NoError(t, pagesConfig(t).Validate())
}

// TestValidatePages has a case per class of problem of the web chat and the inbox settings.
func TestValidatePages(t *testing.T) {
	const pathMsg = "want a URL path such as /chat, not one the gateway uses itself, got "
	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   []string
	}{
		// Web chat.
		{"colour name", func(c *config.Config) { webOf(c, 0).Color = "blue" }, []string{`channels[0].color: want a colour as #rrggbb, got "blue"`}},
		{"short colour", func(c *config.Config) { webOf(c, 0).Color = "#fff" }, []string{`channels[0].color: want a colour as #rrggbb, got "#fff"`}},
		{"colour without #", func(c *config.Config) { webOf(c, 0).Color = "0b5fff" }, []string{`channels[0].color: want a colour as #rrggbb, got "0b5fff"`}},
		{"greeting keys are language tags", func(c *config.Config) {
			webOf(c, 0).Greetings = map[string]string{"en": "Hi", "german": "Hallo", "pt-BR": "Olá", "en us": "Hi", "": "?"}
		}, []string{
			`channels[0].greetings[""]: want a language tag such as en or pt-BR as key`,
			`channels[0].greetings["en us"]: want a language tag such as en or pt-BR as key`,
			`channels[0].greetings.german: want a language tag such as en or pt-BR as key`,
		}},
		// webchat.New refused HMAC keys shorter than 16 bytes, which can be brute-forced
		// offline; Validate now says so with the key path, before the gateway starts.
		{"token_secret too short", func(c *config.Config) { webOf(c, 0).TokenSecret = "0123456789abcde" }, []string{
			"channels[0].token_secret: want at least 16 bytes, got 15",
		}},
		{"player_secret too short", func(c *config.Config) { webOf(c, 0).PlayerSecret = "x" }, []string{
			"channels[0].player_secret: want at least 16 bytes, got 1",
		}},
		{"token_ttl too small", func(c *config.Config) { webOf(c, 0).TokenTTL = 59 * time.Second }, []string{"channels[0].token_ttl: must be at least 1m"}},
		{"token_ttl negative", func(c *config.Config) { webOf(c, 0).TokenTTL = -time.Hour }, []string{"channels[0].token_ttl: must be at least 1m"}},
		{"allowed_origins not URLs", func(c *config.Config) {
			webOf(c, 0).AllowedOrigins = []string{"https://casino.example", "casino.example", "*", "ftp://casino.example", "https://", "https:casino.example"}
		}, []string{
			`channels[0].allowed_origins[1]: want an origin such as https://casino.example, got "casino.example"`,
			`channels[0].allowed_origins[2]: want an origin such as https://casino.example, got "*"`,
			`channels[0].allowed_origins[3]: want an origin such as https://casino.example, got "ftp://casino.example"`,
			`channels[0].allowed_origins[4]: want an origin such as https://casino.example, got "https://"`,
			`channels[0].allowed_origins[5]: want an origin such as https://casino.example, got "https:casino.example"`,
		}},
		{"allowed_origins not bare", func(c *config.Config) {
			webOf(c, 0).AllowedOrigins = []string{
				"http://localhost:3000", "https://casino.example/", "https://casino.example/play", "https://casino.example?x=1",
				"https://casino.example?", "https://casino.example#top", "https://casino.example#", "https://user@casino.example",
			}
		}, []string{
			`channels[0].allowed_origins[1]: want scheme://host[:port] without a path, query or user, got "https://casino.example/"`,
			`channels[0].allowed_origins[2]: want scheme://host[:port] without a path, query or user, got "https://casino.example/play"`,
			`channels[0].allowed_origins[3]: want scheme://host[:port] without a path, query or user, got "https://casino.example?x=1"`,
			`channels[0].allowed_origins[4]: want scheme://host[:port] without a path, query or user, got "https://casino.example?"`,
			`channels[0].allowed_origins[5]: want scheme://host[:port] without a path, query or user, got "https://casino.example#top"`,
			`channels[0].allowed_origins[6]: want scheme://host[:port] without a path, query or user, got "https://casino.example#"`,
			`channels[0].allowed_origins[7]: want scheme://host[:port] without a path, query or user, got "https://user@casino.example"`,
		}},
		{"messages_per_minute zero", func(c *config.Config) { webOf(c, 0).MessagesPerMinute = 0 }, []string{"channels[0].messages_per_minute: must be at least 1"}},
		{"messages_per_minute negative", func(c *config.Config) { webOf(c, 0).MessagesPerMinute = -5 }, []string{"channels[0].messages_per_minute: must be at least 1"}},
		{"upload types", func(c *config.Config) {
			webOf(c, 0).UploadTypes = []string{"image/png", "image/*", "Image/PNG", "text/plain; charset=utf-8", "pdf", "", "*/*"}
		}, []string{
			`channels[0].upload_types[1]: want a media type such as application/pdf, got "image/*"`,
			`channels[0].upload_types[2]: want a media type such as application/pdf, got "Image/PNG"`,
			`channels[0].upload_types[3]: want a media type such as application/pdf, got "text/plain; charset=utf-8"`,
			`channels[0].upload_types[4]: want a media type such as application/pdf, got "pdf"`,
			`channels[0].upload_types[5]: want a media type such as application/pdf, got ""`,
			`channels[0].upload_types[6]: want a media type such as application/pdf, got "*/*"`,
		}},
		{"path below /api", func(c *config.Config) { webOf(c, 0).Path = "/api/x" }, []string{`channels[0].path: ` + pathMsg + `"/api/x"`}},
		{"path /api", func(c *config.Config) { webOf(c, 0).Path = "/api" }, []string{`channels[0].path: ` + pathMsg + `"/api"`}},
		{"path /hooks", func(c *config.Config) { webOf(c, 0).Path = "/hooks" }, []string{`channels[0].path: ` + pathMsg + `"/hooks"`}},
		{"path below /hooks", func(c *config.Config) { webOf(c, 0).Path = "/hooks/web" }, []string{`channels[0].path: ` + pathMsg + `"/hooks/web"`}},
		{"path /healthz", func(c *config.Config) { webOf(c, 0).Path = "/healthz" }, []string{`channels[0].path: ` + pathMsg + `"/healthz"`}},
		{"path /readyz", func(c *config.Config) { webOf(c, 0).Path = "/readyz" }, []string{`channels[0].path: ` + pathMsg + `"/readyz"`}},
		{"path below /metrics", func(c *config.Config) { webOf(c, 0).Path = "/metrics/chat" }, []string{`channels[0].path: ` + pathMsg + `"/metrics/chat"`}},
		{"path without slash", func(c *config.Config) { webOf(c, 0).Path = "chat" }, []string{`channels[0].path: ` + pathMsg + `"chat"`}},
		{"path root", func(c *config.Config) { webOf(c, 0).Path = "/" }, []string{`channels[0].path: ` + pathMsg + `"/"`}},
		{"path with trailing slash", func(c *config.Config) { webOf(c, 0).Path = "/chat/" }, []string{`channels[0].path: ` + pathMsg + `"/chat/"`}},
		{"path with empty segment", func(c *config.Config) { webOf(c, 0).Path = "/support//chat" }, []string{`channels[0].path: ` + pathMsg + `"/support//chat"`}},
		{"path with capitals", func(c *config.Config) { webOf(c, 0).Path = "/Chat" }, []string{`channels[0].path: ` + pathMsg + `"/Chat"`}},
		{"path with query", func(c *config.Config) { webOf(c, 0).Path = "/chat?x" }, []string{`channels[0].path: ` + pathMsg + `"/chat?x"`}},
		{"path empty", func(c *config.Config) { webOf(c, 0).Path = "" }, []string{`channels[0].path: ` + pathMsg + `""`}},

		// Inbox.
		{"inbox path reserved", func(c *config.Config) { inboxOf(c, 0).Path = "/api/v1/inbox" }, []string{`helpdesks[0].path: ` + pathMsg + `"/api/v1/inbox"`}},
		{"inbox path without slash", func(c *config.Config) { inboxOf(c, 0).Path = "inbox" }, []string{`helpdesks[0].path: ` + pathMsg + `"inbox"`}},
		{"database required", func(c *config.Config) { inboxOf(c, 0).Database = "" }, []string{"helpdesks[0].database: required"}},
		{"session_ttl too small", func(c *config.Config) { inboxOf(c, 0).SessionTTL = 30 * time.Second }, []string{"helpdesks[0].session_ttl: must be at least 1m"}},
		{"agent name invalid", func(c *config.Config) { inboxOf(c, 0).Agents[0].Name = "Alice Smith" }, []string{"helpdesks[0].agents[0].name: want lower-case letters"}},
		{"agent name required", func(c *config.Config) { inboxOf(c, 0).Agents[0].Name = "" }, []string{"helpdesks[0].agents[0].name: required"}},
		{"agent name duplicate", func(c *config.Config) {
			box := inboxOf(c, 0)
			box.Agents = append(box.Agents, inbox.Agent{Name: "bob", PasswordHash: agentHash}, inbox.Agent{Name: "alice", PasswordHash: agentHash})
		}, []string{`helpdesks[0].agents[2].name: duplicate agent "alice"`}},
		{"password_hash not bcrypt", func(c *config.Config) {
			box := inboxOf(c, 0)
			box.Agents = []inbox.Agent{
				{Name: "a0", PasswordHash: "hunter2"},
				{Name: "a1", PasswordHash: ""},
				{Name: "a2", PasswordHash: "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"},                           // md5-crypt
				{Name: "a3", PasswordHash: "$2a$99$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"}, // cost out of range
				{Name: "a4", PasswordHash: "$2a$03$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"}, // cost out of range
				{Name: "a5", PasswordHash: settings.Secret(agentHash[:len(agentHash)-1])},                  // truncated
				{Name: "a6", PasswordHash: agentHash + "\n"},
				{Name: "a7", PasswordHash: "$2y$04$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"}, // fine: cost 4, $2y$
				{Name: "a8", PasswordHash: "$2b$31$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"}, // fine: cost 31, $2b$
			}
		}, []string{
			"helpdesks[0].agents[0].password_hash: want a bcrypt hash",
			"helpdesks[0].agents[1].password_hash: want a bcrypt hash",
			"helpdesks[0].agents[2].password_hash: want a bcrypt hash",
			"helpdesks[0].agents[3].password_hash: want a bcrypt hash",
			"helpdesks[0].agents[4].password_hash: want a bcrypt hash",
			"helpdesks[0].agents[5].password_hash: want a bcrypt hash",
			"helpdesks[0].agents[6].password_hash: want a bcrypt hash",
		}},

		// Settings missing in a Config built in code: they used to count as empty ones, and
		// Validate reported every key without a usable zero value. Since the settings belong
		// to the connector's package, Validate lets the type's DefaultConfig stand in, so
		// only what Derive would have given is missing: the inbox's database in data_dir.
		{"missing settings", func(c *config.Config) { c.Channels[0].Settings = nil; c.Helpdesks[0].Settings = nil }, []string{
			"helpdesks[0].database: required",
		}},

		// Page paths share the listener.
		{"inbox at the chat's path", func(c *config.Config) { inboxOf(c, 0).Path = "/chat" }, []string{`helpdesks[0].path: "/chat" is already used by channels[0].path`}},
		{"inbox inside the chat", func(c *config.Config) { inboxOf(c, 0).Path = "/chat/agents" }, []string{`helpdesks[0].path: "/chat/agents" is inside channels[0].path "/chat"`}},
		{"inbox around the chat", func(c *config.Config) {
			webOf(c, 0).Path = "/support/chat"
			inboxOf(c, 0).Path = "/support"
		}, []string{`helpdesks[0].path: "/support" contains channels[0].path "/support/chat"`}},
		{"two chats at one path", func(c *config.Config) { addWebchat(c, "vip", "/chat") }, []string{`channels[1].path: "/chat" is already used by channels[0].path`}},
		{"two inboxes nested", func(c *config.Config) { addInbox(c, "vip-desk", "/inbox/vip") }, []string{`helpdesks[1].path: "/inbox/vip" is inside helpdesks[0].path "/inbox"`}},
		{"only the first clash is reported", func(c *config.Config) {
			addWebchat(c, "vip", "/vip")
			inboxOf(c, 0).Path = "/vip"
			addInbox(c, "vip-desk", "/vip")
		}, []string{
			`helpdesks[0].path: "/vip" is already used by channels[1].path`,
			`helpdesks[1].path: "/vip" is already used by channels[1].path`,
		}},
		{"an invalid path is not also a clash", func(c *config.Config) {
			webOf(c, 0).Path = "/api"
			inboxOf(c, 0).Path = "/api"
		}, []string{`channels[0].path: ` + pathMsg + `"/api"`, `helpdesks[0].path: ` + pathMsg + `"/api"`}},

		// Database files.
		{"inbox database is the store's", func(c *config.Config) { inboxOf(c, 0).Database = "./data/gateway.db" }, []string{
			`helpdesks[0].database: "./data/gateway.db" is already used by store.dsn`,
		}},
		{"inbox named like the store", func(c *config.Config) {
			c.Helpdesks[0].Name, c.DefaultHelpdesk, inboxOf(c, 0).Database = "gateway", "gateway", ""
			inboxOf(c, 0).Derive(settings.Env{Name: "gateway", DataDir: c.DataDir})
		}, []string{`helpdesks[0].database: "data/gateway.db" is already used by store.dsn`}},
		{"two inboxes share a database", func(c *config.Config) {
			addInbox(c, "vip-desk", "/vip")
			inboxOf(c, 1).Database = "data/../data/inbox.db"
		}, []string{`helpdesks[1].database: "data/../data/inbox.db" is already used by helpdesks[0].database`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pagesConfig(t)
			tt.modify(c)
			requireProblems(t, c.Validate(), tt.want...)
		})
	}
}

func TestValidatePagesAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *config.Config)
	}{
		{"paths sharing a prefix but no segment", func(c *config.Config) {
			webOf(c, 0).Path = "/chat"
			inboxOf(c, 0).Path = "/chatroom"
		}},
		{"names that start like reserved paths", func(c *config.Config) {
			webOf(c, 0).Path = "/apis"
			inboxOf(c, 0).Path = "/hooksmith"
		}},
		{"nested segments", func(c *config.Config) {
			webOf(c, 0).Path = "/de/support-chat_2"
			inboxOf(c, 0).Path = "/en/support-chat_2"
		}},
		{"two chats and two inboxes", func(c *config.Config) {
			addWebchat(c, "vip", "/vip/chat")
			addInbox(c, "vip-desk", "/vip/inbox")
		}},
		{"no greetings, no uploads", func(c *config.Config) {
			webOf(c, 0).Greetings = map[string]string{}
			webOf(c, 0).UploadTypes = []string{}
		}},
		{"origins with ports and IPs", func(c *config.Config) {
			webOf(c, 0).AllowedOrigins = []string{"http://localhost:3000", "https://[::1]:8443", "http://192.0.2.1"}
		}},
		{"no agents", func(c *config.Config) { inboxOf(c, 0).Agents = nil }},
		{"secrets of 16 bytes", func(c *config.Config) {
			webOf(c, 0).TokenSecret = "0123456789abcdef"
			webOf(c, 0).PlayerSecret = "fedcba9876543210"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pagesConfig(t)
			tt.modify(c)
			require.NoError(t, c.Validate())
		})
	}
}

// TestParsePages checks the web chat and the inbox through Parse: decoding into their
// settings, strictness, and that a decoding problem is not repeated by validation.
func TestParsePages(t *testing.T) {
	const pages = "channels:\n  - {name: web, type: webchat}\nhelpdesks:\n  - {name: inbox, type: inbox}\ndefault_helpdesk: inbox\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "paths clash",
			yaml: strings.Replace(pages, "type: inbox}", "type: inbox, path: /chat}", 1),
			want: []string{`helpdesks[0].path: "/chat" is already used by channels[0].path`},
		},
		{
			name: "key of another type",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, send_url: 'http://x/'}", 1),
			want: []string{"channels[0].send_url: unknown key"},
		},
		{
			name: "misspelt key",
			yaml: strings.Replace(pages, "type: inbox}", "type: inbox, session_tll: 1h}", 1),
			want: []string{"helpdesks[0].session_tll: unknown key"},
		},
		{
			name: "bad duration is reported once",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, token_ttl: 30}", 1),
			want: []string{`channels[0].token_ttl: want a duration such as "30s" or "2m", got "30"`},
		},
		{
			name: "explicit zero is not a default",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, messages_per_minute: 0}", 1),
			want: []string{"channels[0].messages_per_minute: must be at least 1"},
		},
		{
			name: "explicit zero durations and empty path are not defaults",
			yaml: strings.Replace(pages, "type: inbox}", "type: inbox, path: '', session_ttl: 0s}", 1),
			want: []string{
				`helpdesks[0].path: want a URL path such as /chat, not one the gateway uses itself, got ""`,
				"helpdesks[0].session_ttl: must be at least 1m",
			},
		},
		{
			name: "short token secret, not echoed",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, token_secret: s3cr3t}", 1),
			want: []string{"channels[0].token_secret: want at least 16 bytes, got 6"},
		},
		{
			name: "short player secret from the environment",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, player_secret: '${PLAYER_SECRET:-s3cr3t}'}", 1),
			want: []string{"channels[0].player_secret: want at least 16 bytes, got 6"},
		},
		{
			name: "empty variable is an explicit value",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, color: '${COLOR:-}'}", 1),
			want: []string{`channels[0].color: want a colour as #rrggbb, got ""`},
		},
		{
			name: "greeting that is not a string",
			yaml: strings.Replace(pages, "type: webchat}", "type: webchat, greetings: {en: [hi]}}", 1),
			want: []string{"channels[0].greetings.en: want a string, got a list"},
		},
		{
			name: "agent hash from an unset variable",
			yaml: strings.Replace(pages, "type: inbox}", "type: inbox, agents: [{name: alice, password_hash: '${ALICE_HASH}'}]}", 1),
			want: []string{"helpdesks[0].agents[0].password_hash: environment variable ALICE_HASH is not set"},
		},
		{
			name: "agent hash from an empty default",
			yaml: strings.Replace(pages, "type: inbox}", "type: inbox, agents: [{name: alice, password_hash: '${ALICE_HASH:-}'}]}", 1),
			want: []string{"helpdesks[0].agents[0].password_hash: want a bcrypt hash"},
		},
		{
			name: "file without helpdesks routes nowhere",
			yaml: "default_helpdesk: inbox\n",
			want: []string{`default_helpdesk: unknown helpdesk "inbox"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), "", nil, catalog(connectorTypes()))
			requireProblems(t, err, tt.want...)
			require.Nil(t, cfg)
			require.NotContains(t, err.Error(), "s3cr3t", "a secret is not echoed")
		})
	}

	cfg, err := config.Parse([]byte(pages), "", fakeEnv(nil), catalog(connectorTypes()))
	require.NoError(t, err)
	requireSameConfig(t, defaultConfig(t), cfg, "the embedded default written as a file")
}

// pagesConfig is the embedded default (channels[0] is the web chat "web", helpdesks[0] the
// inbox "inbox") with one agent, so cases show only what they break.
func pagesConfig(t *testing.T) *config.Config {
	t.Helper()
	c := defaultConfig(t)
	inboxOf(c, 0).Agents = []inbox.Agent{{Name: "alice", DisplayName: "Alice", PasswordHash: agentHash}}
	return c
}

// defaultConfig is config.Default with wire.go's catalog.
func defaultConfig(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Default(catalog(connectorTypes()))
	require.NoError(t, err)
	return c
}

// webOf returns the web chat settings of channels[i].
func webOf(c *config.Config, i int) *webchat.Config { return c.Channels[i].Settings.(*webchat.Config) }

// inboxOf returns the inbox settings of helpdesks[i].
func inboxOf(c *config.Config, i int) *inbox.Config { return c.Helpdesks[i].Settings.(*inbox.Config) }

// addWebchat adds a second web chat with its defaults at path, as the loader would make it.
func addWebchat(c *config.Config, name, path string) {
	w := webchat.DefaultConfig()
	w.Path = path
	w.Derive(settings.Env{Name: name, DataDir: c.DataDir})
	c.Channels = append(c.Channels, config.Channel{Name: name, Type: "webchat", Settings: w})
}

// addInbox adds a second inbox with its defaults at path, as the loader would make it.
func addInbox(c *config.Config, name, path string) {
	b := inbox.DefaultConfig()
	b.Path = path
	b.Derive(settings.Env{Name: name, DataDir: c.DataDir})
	c.Helpdesks = append(c.Helpdesks, config.Helpdesk{Name: name, Type: "inbox", Settings: b})
}

// requireSameConfig compares the exported fields of two configurations: the loader keeps
// its catalog in an unexported field, whose functions never compare equal.
func requireSameConfig(t *testing.T, want, got *config.Config, msg string) {
	t.Helper()
	w, g := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	for i := range w.NumField() {
		if f := w.Type().Field(i); f.IsExported() {
			require.Equal(t, w.Field(i).Interface(), g.Field(i).Interface(), "%s: %s", msg, f.Name)
		}
	}
}
