package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A bcrypt hash as `gateway inbox-password --hash` prints it.
const agentHash = "$2a$12$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"

// pagesConfig is the embedded default (channels[0] is the web chat "web", helpdesks[0] the
// inbox "inbox") with one agent, so cases show only what they break.
func pagesConfig() *Config {
	c := Default()
	c.Helpdesks[0].Inbox.Agents = []InboxAgent{{Name: "alice", DisplayName: "Alice", PasswordHash: agentHash}}
	return c
}

// addWebchat adds a second web chat with its defaults at path.
func addWebchat(c *Config, name, path string) {
	w := new(Webchat)
	w.presets()
	w.Path = path
	w.derive(c, name)
	c.Channels = append(c.Channels, Channel{Name: name, Type: "webchat", Webchat: w})
}

// addInbox adds a second inbox with its defaults at path.
func addInbox(c *Config, name, path string) {
	b := new(Inbox)
	b.presets()
	b.Path = path
	b.derive(c, name)
	c.Helpdesks = append(c.Helpdesks, Helpdesk{Name: name, Type: "inbox", Inbox: b})
}

func TestPagesConfigIsValid(t *testing.T) {
	require.NoError(t, pagesConfig().Validate())
}

// TestValidatePages has a case per class of problem of the web chat and the inbox settings.
func TestValidatePages(t *testing.T) {
	const pathMsg = "want a URL path such as /chat, not one the gateway uses itself, got "
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		// Web chat.
		{"colour name", func(c *Config) { c.Channels[0].Webchat.Color = "blue" }, []string{`channels[0].color: want a colour as #rrggbb, got "blue"`}},
		{"short colour", func(c *Config) { c.Channels[0].Webchat.Color = "#fff" }, []string{`channels[0].color: want a colour as #rrggbb, got "#fff"`}},
		{"colour without #", func(c *Config) { c.Channels[0].Webchat.Color = "0b5fff" }, []string{`channels[0].color: want a colour as #rrggbb, got "0b5fff"`}},
		{"greeting keys are language tags", func(c *Config) {
			c.Channels[0].Webchat.Greetings = map[string]string{"en": "Hi", "german": "Hallo", "pt-BR": "Olá", "en us": "Hi", "": "?"}
		}, []string{
			`channels[0].greetings[""]: want a language tag such as en or pt-BR as key`,
			`channels[0].greetings["en us"]: want a language tag such as en or pt-BR as key`,
			`channels[0].greetings.german: want a language tag such as en or pt-BR as key`,
		}},
		{"token_ttl too small", func(c *Config) { c.Channels[0].Webchat.TokenTTL = 59 * time.Second }, []string{"channels[0].token_ttl: must be at least 1m"}},
		{"token_ttl negative", func(c *Config) { c.Channels[0].Webchat.TokenTTL = -time.Hour }, []string{"channels[0].token_ttl: must be at least 1m"}},
		{"allowed_origins not URLs", func(c *Config) {
			c.Channels[0].Webchat.AllowedOrigins = []string{"https://casino.example", "casino.example", "*", "ftp://casino.example", "https://", "https:casino.example"}
		}, []string{
			`channels[0].allowed_origins[1]: want an origin such as https://casino.example, got "casino.example"`,
			`channels[0].allowed_origins[2]: want an origin such as https://casino.example, got "*"`,
			`channels[0].allowed_origins[3]: want an origin such as https://casino.example, got "ftp://casino.example"`,
			`channels[0].allowed_origins[4]: want an origin such as https://casino.example, got "https://"`,
			`channels[0].allowed_origins[5]: want an origin such as https://casino.example, got "https:casino.example"`,
		}},
		{"allowed_origins not bare", func(c *Config) {
			c.Channels[0].Webchat.AllowedOrigins = []string{
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
		{"messages_per_minute zero", func(c *Config) { c.Channels[0].Webchat.MessagesPerMinute = 0 }, []string{"channels[0].messages_per_minute: must be at least 1"}},
		{"messages_per_minute negative", func(c *Config) { c.Channels[0].Webchat.MessagesPerMinute = -5 }, []string{"channels[0].messages_per_minute: must be at least 1"}},
		{"upload types", func(c *Config) {
			c.Channels[0].Webchat.UploadTypes = []string{"image/png", "image/*", "Image/PNG", "text/plain; charset=utf-8", "pdf", "", "*/*"}
		}, []string{
			`channels[0].upload_types[1]: want a media type such as application/pdf, got "image/*"`,
			`channels[0].upload_types[2]: want a media type such as application/pdf, got "Image/PNG"`,
			`channels[0].upload_types[3]: want a media type such as application/pdf, got "text/plain; charset=utf-8"`,
			`channels[0].upload_types[4]: want a media type such as application/pdf, got "pdf"`,
			`channels[0].upload_types[5]: want a media type such as application/pdf, got ""`,
			`channels[0].upload_types[6]: want a media type such as application/pdf, got "*/*"`,
		}},
		{"path below /api", func(c *Config) { c.Channels[0].Webchat.Path = "/api/x" }, []string{`channels[0].path: ` + pathMsg + `"/api/x"`}},
		{"path /api", func(c *Config) { c.Channels[0].Webchat.Path = "/api" }, []string{`channels[0].path: ` + pathMsg + `"/api"`}},
		{"path /hooks", func(c *Config) { c.Channels[0].Webchat.Path = "/hooks" }, []string{`channels[0].path: ` + pathMsg + `"/hooks"`}},
		{"path below /hooks", func(c *Config) { c.Channels[0].Webchat.Path = "/hooks/web" }, []string{`channels[0].path: ` + pathMsg + `"/hooks/web"`}},
		{"path /healthz", func(c *Config) { c.Channels[0].Webchat.Path = "/healthz" }, []string{`channels[0].path: ` + pathMsg + `"/healthz"`}},
		{"path /readyz", func(c *Config) { c.Channels[0].Webchat.Path = "/readyz" }, []string{`channels[0].path: ` + pathMsg + `"/readyz"`}},
		{"path below /metrics", func(c *Config) { c.Channels[0].Webchat.Path = "/metrics/chat" }, []string{`channels[0].path: ` + pathMsg + `"/metrics/chat"`}},
		{"path without slash", func(c *Config) { c.Channels[0].Webchat.Path = "chat" }, []string{`channels[0].path: ` + pathMsg + `"chat"`}},
		{"path root", func(c *Config) { c.Channels[0].Webchat.Path = "/" }, []string{`channels[0].path: ` + pathMsg + `"/"`}},
		{"path with trailing slash", func(c *Config) { c.Channels[0].Webchat.Path = "/chat/" }, []string{`channels[0].path: ` + pathMsg + `"/chat/"`}},
		{"path with empty segment", func(c *Config) { c.Channels[0].Webchat.Path = "/support//chat" }, []string{`channels[0].path: ` + pathMsg + `"/support//chat"`}},
		{"path with capitals", func(c *Config) { c.Channels[0].Webchat.Path = "/Chat" }, []string{`channels[0].path: ` + pathMsg + `"/Chat"`}},
		{"path with query", func(c *Config) { c.Channels[0].Webchat.Path = "/chat?x" }, []string{`channels[0].path: ` + pathMsg + `"/chat?x"`}},
		{"path empty", func(c *Config) { c.Channels[0].Webchat.Path = "" }, []string{`channels[0].path: ` + pathMsg + `""`}},

		// Inbox.
		{"inbox path reserved", func(c *Config) { c.Helpdesks[0].Inbox.Path = "/api/v1/inbox" }, []string{`helpdesks[0].path: ` + pathMsg + `"/api/v1/inbox"`}},
		{"inbox path without slash", func(c *Config) { c.Helpdesks[0].Inbox.Path = "inbox" }, []string{`helpdesks[0].path: ` + pathMsg + `"inbox"`}},
		{"database required", func(c *Config) { c.Helpdesks[0].Inbox.Database = "" }, []string{"helpdesks[0].database: required"}},
		{"session_ttl too small", func(c *Config) { c.Helpdesks[0].Inbox.SessionTTL = 30 * time.Second }, []string{"helpdesks[0].session_ttl: must be at least 1m"}},
		{"agent name invalid", func(c *Config) { c.Helpdesks[0].Inbox.Agents[0].Name = "Alice Smith" }, []string{"helpdesks[0].agents[0].name: want lower-case letters"}},
		{"agent name required", func(c *Config) { c.Helpdesks[0].Inbox.Agents[0].Name = "" }, []string{"helpdesks[0].agents[0].name: required"}},
		{"agent name duplicate", func(c *Config) {
			box := c.Helpdesks[0].Inbox
			box.Agents = append(box.Agents, InboxAgent{Name: "bob", PasswordHash: agentHash}, InboxAgent{Name: "alice", PasswordHash: agentHash})
		}, []string{`helpdesks[0].agents[2].name: duplicate agent "alice"`}},
		{"password_hash not bcrypt", func(c *Config) {
			box := c.Helpdesks[0].Inbox
			box.Agents = []InboxAgent{
				{Name: "a0", PasswordHash: "hunter2"},
				{Name: "a1", PasswordHash: ""},
				{Name: "a2", PasswordHash: "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"},                           // md5-crypt
				{Name: "a3", PasswordHash: "$2a$99$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"}, // cost out of range
				{Name: "a4", PasswordHash: "$2a$03$cSNrg6lzYmPBnXCA56BxqOmFGkzZ4d3UuW2NNFJ.nE3lEujkxU5Ey"}, // cost out of range
				{Name: "a5", PasswordHash: Secret(agentHash[:len(agentHash)-1])},                           // truncated
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

		// Settings missing in a Config built in code count as empty ones.
		{"missing settings", func(c *Config) { c.Channels[0].Webchat = nil; c.Helpdesks[0].Inbox = nil }, []string{
			`channels[0].path: ` + pathMsg + `""`,
			`channels[0].color: want a colour as #rrggbb, got ""`,
			"channels[0].token_ttl: must be at least 1m",
			"channels[0].messages_per_minute: must be at least 1",
			`helpdesks[0].path: ` + pathMsg + `""`,
			"helpdesks[0].database: required",
			"helpdesks[0].session_ttl: must be at least 1m",
		}},

		// Page paths share the listener.
		{"inbox at the chat's path", func(c *Config) { c.Helpdesks[0].Inbox.Path = "/chat" }, []string{`helpdesks[0].path: "/chat" is already used by channels[0].path`}},
		{"inbox inside the chat", func(c *Config) { c.Helpdesks[0].Inbox.Path = "/chat/agents" }, []string{`helpdesks[0].path: "/chat/agents" is inside channels[0].path "/chat"`}},
		{"inbox around the chat", func(c *Config) {
			c.Channels[0].Webchat.Path = "/support/chat"
			c.Helpdesks[0].Inbox.Path = "/support"
		}, []string{`helpdesks[0].path: "/support" contains channels[0].path "/support/chat"`}},
		{"two chats at one path", func(c *Config) { addWebchat(c, "vip", "/chat") }, []string{`channels[1].path: "/chat" is already used by channels[0].path`}},
		{"two inboxes nested", func(c *Config) { addInbox(c, "vip-desk", "/inbox/vip") }, []string{`helpdesks[1].path: "/inbox/vip" is inside helpdesks[0].path "/inbox"`}},
		{"only the first clash is reported", func(c *Config) {
			addWebchat(c, "vip", "/vip")
			c.Helpdesks[0].Inbox.Path = "/vip"
			addInbox(c, "vip-desk", "/vip")
		}, []string{
			`helpdesks[0].path: "/vip" is already used by channels[1].path`,
			`helpdesks[1].path: "/vip" is already used by channels[1].path`,
		}},
		{"an invalid path is not also a clash", func(c *Config) {
			c.Channels[0].Webchat.Path = "/api"
			c.Helpdesks[0].Inbox.Path = "/api"
		}, []string{`channels[0].path: ` + pathMsg + `"/api"`, `helpdesks[0].path: ` + pathMsg + `"/api"`}},

		// Database files.
		{"inbox database is the store's", func(c *Config) { c.Helpdesks[0].Inbox.Database = "./data/gateway.db" }, []string{
			`helpdesks[0].database: "./data/gateway.db" is already used by store.dsn`,
		}},
		{"inbox named like the store", func(c *Config) {
			c.Helpdesks[0].Name, c.DefaultHelpdesk, c.Helpdesks[0].Inbox.Database = "gateway", "gateway", ""
			c.Helpdesks[0].Inbox.derive(c, "gateway")
		}, []string{`helpdesks[0].database: "data/gateway.db" is already used by store.dsn`}},
		{"two inboxes share a database", func(c *Config) {
			addInbox(c, "vip-desk", "/vip")
			c.Helpdesks[1].Inbox.Database = "data/../data/inbox.db"
		}, []string{`helpdesks[1].database: "data/../data/inbox.db" is already used by helpdesks[0].database`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pagesConfig()
			tt.modify(c)
			requireProblems(t, c.Validate(), tt.want...)
		})
	}
}

func TestValidatePagesAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
	}{
		{"paths sharing a prefix but no segment", func(c *Config) {
			c.Channels[0].Webchat.Path = "/chat"
			c.Helpdesks[0].Inbox.Path = "/chatroom"
		}},
		{"names that start like reserved paths", func(c *Config) {
			c.Channels[0].Webchat.Path = "/apis"
			c.Helpdesks[0].Inbox.Path = "/hooksmith"
		}},
		{"nested segments", func(c *Config) {
			c.Channels[0].Webchat.Path = "/de/support-chat_2"
			c.Helpdesks[0].Inbox.Path = "/en/support-chat_2"
		}},
		{"two chats and two inboxes", func(c *Config) {
			addWebchat(c, "vip", "/vip/chat")
			addInbox(c, "vip-desk", "/vip/inbox")
		}},
		{"no greetings, no uploads", func(c *Config) {
			c.Channels[0].Webchat.Greetings = map[string]string{}
			c.Channels[0].Webchat.UploadTypes = []string{}
		}},
		{"origins with ports and IPs", func(c *Config) {
			c.Channels[0].Webchat.AllowedOrigins = []string{"http://localhost:3000", "https://[::1]:8443", "http://192.0.2.1"}
		}},
		{"a postgres store shares no file", func(c *Config) {
			c.Store = Store{Driver: "postgres", DSN: "data/inbox.db"}
		}},
		{"no agents", func(c *Config) { c.Helpdesks[0].Inbox.Agents = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pagesConfig()
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
			cfg, err := Parse([]byte(tt.yaml), "", nil)
			requireProblems(t, err, tt.want...)
			require.Nil(t, cfg)
		})
	}

	cfg, err := Parse([]byte(pages), "", env(nil))
	require.NoError(t, err)
	require.Equal(t, Default(), cfg, "the embedded default written as a file")
}
