package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// validConfig is a complete valid configuration built in code, as tests of other packages
// would build one.
func validConfig(t *testing.T) *Config {
	c := defaultConfig(t)
	c.Channels = []Channel{{Name: "chat", Type: "loopback", Settings: &testLoopback{SendURL: "http://127.0.0.1:9000/send"}}}
	c.Helpdesks = []Helpdesk{{Name: "desk", Type: "loopback", Settings: &testDesk{URL: "https://desk.example/api"}}}
	c.Routes = []Route{{Helpdesk: "desk", Match: Match{
		Channels: []string{"chat"}, Kinds: []string{"loopback"}, Languages: []string{"de", "pt-BR"}, MinVIP: 1, Keywords: []string{"kyc"},
	}}}
	c.DefaultHelpdesk = "desk"
	return c
}

func TestValidConfigIsValid(t *testing.T) {
	require.NoError(t, validConfig(t).Validate())
	require.NoError(t, defaultConfig(t).Validate())
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, []string{`listen: want host:port such as ":8080", got "localhost"`}},
		{"listen with named port", func(c *Config) { c.Listen = ":http" }, []string{`listen: want a port number from 0 to 65535, got "http"`}},
		{"listen port out of range", func(c *Config) { c.Listen = ":70000" }, []string{`listen: want a port number from 0 to 65535, got "70000"`}},
		{"public_url relative", func(c *Config) { c.PublicURL = "localhost:8080" }, []string{`public_url: want an absolute http or https URL, got "localhost:8080"`}},
		{"public_url empty", func(c *Config) { c.PublicURL = "" }, []string{"public_url: required"}},
		{"data_dir empty", func(c *Config) { c.DataDir = "" }, []string{"data_dir: required"}},
		{"log level", func(c *Config) { c.Log.Level = "trace" }, []string{`log.level: unknown log level "trace" (known: debug, info, warn, error)`}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{`log.format: unknown log format "xml" (known: json, text)`}},
		{"store driver", func(c *Config) { c.Store.Driver = "mysql" }, []string{`store.driver: unknown store driver "mysql" (known: sqlite, postgres)`}},
		{"postgres needs dsn", func(c *Config) { c.Store = Store{Driver: "postgres"} }, []string{"store.dsn: required for driver postgres"}},
		{"a driver the build cannot open", func(c *Config) {
			c.Store = Store{Driver: "postgres", DSN: "postgres://db/gw"}
			c.catalog.StoreDrivers = nil
		},
			[]string{`store.driver: "postgres" is not supported by this build yet; use sqlite`}},
		{"attachments", func(c *Config) { c.Attachments = Attachments{MaxBytes: 0} }, []string{"attachments.dir: required", "attachments.max_bytes: must be positive, got 0"}},
		{"quota below one attachment", func(c *Config) { c.Attachments.QuotaBytes = c.Attachments.MaxBytes - 1 }, []string{
			"attachments.quota_bytes: must be at least attachments.max_bytes (26214400), or 0 for no quota, got 26214399",
		}},
		{"language codes", func(c *Config) { c.Language.Detect = []string{"en", "English", "en", "pt-BR"} }, []string{
			`language.detect[1]: want a lower-case ISO 639-1 code such as ro, got "English"`,
			`language.detect[2]: "en" is listed twice`,
			`language.detect[3]: want a lower-case ISO 639-1 code such as ro, got "pt-BR"`,
		}},
		{"a code the detector does not know", func(c *Config) {
			c.Language.Detect = []string{"en", "xx"}
			c.catalog.CheckLanguages = func(codes []string) error { return fmt.Errorf("%q is unknown", codes[1]) }
		}, []string{`language.detect: "xx" is unknown`}},
		{"one language", func(c *Config) { c.Language.Detect = []string{"ro"} }, []string{
			"language.detect: want at least two languages to tell apart, or none, got 1",
		}},
		{"language tuning", func(c *Config) { c.Language.MinLetters, c.Language.Accuracy = 0, "best" }, []string{
			"language.min_letters: must be positive, got 0",
			`language.accuracy: unknown accuracy "best" (known: low, high)`,
		}},
		{"player directory url and file", func(c *Config) {
			c.PlayerDirectory.URL, c.PlayerDirectory.Secret, c.PlayerDirectory.File = "https://crm.example/lookup", "directory-secret-of-16+", "players.yaml"
		}, []string{"player_directory: set url or file, not both"}},
		{"player directory url without secret", func(c *Config) { c.PlayerDirectory.URL = "crm.example/lookup" }, []string{
			`player_directory.url: want an absolute http or https URL, got "crm.example/lookup"`,
			"player_directory.secret: required with url, at least 16 characters (the requests are signed with it)",
		}},
		{"player directory times", func(c *Config) { c.PlayerDirectory.Budget, c.PlayerDirectory.NegativeTTL = 0, -time.Second }, []string{
			"player_directory.budget: must be positive, got 0s",
			"player_directory.negative_ttl: must be positive, got -1s",
		}},
		{"negative quota and retention", func(c *Config) {
			c.Attachments.QuotaBytes, c.Retention = -1, Retention{ClosedConversations: -time.Hour, Attachments: -time.Hour}
		}, []string{
			"attachments.quota_bytes: must not be negative (0 sets no quota), got -1",
			"retention.closed_conversations: must not be negative (0 keeps forever), got -1h0m0s",
			"retention.attachments: must not be negative (0 keeps forever), got -1h0m0s",
		}},
		{"delivery numbers", func(c *Config) { c.Delivery = Delivery{Workers: -1, BackoffMax: time.Second} }, []string{
			"delivery.workers: must be positive, got -1",
			"delivery.outbound_workers: must be positive, got 0",
			"delivery.max_attempts: must be positive, got 0",
			"delivery.batch_size: must be positive, got 0",
			"delivery.backoff_base: must be positive, got 0s",
			"delivery.lease: must be positive, got 0s",
		}},
		{"backoff order", func(c *Config) { c.Delivery.BackoffBase = time.Hour }, []string{"delivery.backoff_base: must not exceed delivery.backoff_max (10m0s), got 1h0m0s"}},
		{"negative SLA targets", func(c *Config) { c.SLA.FirstResponse.Email, c.SLA.FirstResponse.VIP = -time.Hour, -time.Minute }, []string{
			"sla.first_response.email: must not be negative (0 sets no target), got -1h0m0s",
			"sla.first_response.vip: must not be negative (0 sets no target), got -1m0s",
		}},
		{"negative call-back tier", func(c *Config) { c.SLA.UrgentCallbackVIP = -1 }, []string{
			"sla.urgent_callback_vip: must not be negative (0 makes no call-back request urgent), got -1",
		}},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, []string{"shutdown_timeout: must be positive, got 0s"}},
		{"shutdown delay", func(c *Config) { c.ShutdownDelay = -time.Second }, []string{"shutdown_delay: must not be negative (0 stops at once), got -1s"}},
		{"channel type required", func(c *Config) { c.Channels[0].Type = "" }, []string{"channels[0].type: required"}},
		{"channel name too long", func(c *Config) { c.Channels[0].Name = strings.Repeat("a", 64); c.Routes[0].Match.Channels = nil }, []string{"channels[0].name: want lower-case letters"}},
		{"channel name with slash", func(c *Config) { c.Channels[0].Name = "a/b"; c.Routes[0].Match.Channels = nil }, []string{"channels[0].name: want lower-case letters"}},
		{"helpdesk name required", func(c *Config) { c.Helpdesks[0].Name = "" }, []string{
			"helpdesks[0].name: required",
			`routes[0].helpdesk: unknown helpdesk "desk"`,
			`default_helpdesk: unknown helpdesk "desk"`,
		}},
		{"missing settings count as empty", func(c *Config) { c.Channels[0].Settings = nil; c.Helpdesks[0].Settings = nil }, []string{
			"channels[0].send_url: required",
			"helpdesks[0].url: required",
		}},
		{"helpdesk url without host", func(c *Config) { c.Helpdesks[0].Settings.(*testDesk).URL = "http:///x" }, []string{`helpdesks[0].url: want an absolute http or https URL, got "http:///x"`}},
		{"route helpdesk required", func(c *Config) { c.Routes[0].Helpdesk = "" }, []string{"routes[0].helpdesk: required"}},
		{"route helpdesk names a channel", func(c *Config) { c.Routes[0].Helpdesk = "chat" }, []string{`routes[0].helpdesk: unknown helpdesk "chat"`}},
		{"route channel names a helpdesk", func(c *Config) { c.Routes[0].Match.Channels = []string{"desk"} }, []string{`routes[0].match.channels[0]: unknown channel "desk"`}},
		{"route kind", func(c *Config) { c.Routes[0].Match.Kinds = []string{"loopback", "sms"} }, []string{`routes[0].match.kinds[1]: unknown channel type "sms" (known: loopback, telegram, webchat)`}},
		{"route language", func(c *Config) { c.Routes[0].Match.Languages = []string{"german"} }, []string{`routes[0].match.languages[0]: want a language tag such as "de" or "pt-BR", got "german"`}},
		{"route empty keyword", func(c *Config) { c.Routes[0].Match.Keywords = []string{"kyc", " "} }, []string{"routes[0].match.keywords[1]: must not be empty"}},
		{"route negative vip", func(c *Config) { c.Routes[0].Match.MinVIP = -1 }, []string{"routes[0].match.min_vip: must not be negative, got -1"}},
		{"route bad pattern", func(c *Config) { c.Routes[0].Match.Patterns = []string{"ok", "with(drawal"} }, []string{"routes[0].match.patterns[1]: not a regular expression: error parsing regexp: missing closing ): `with(drawal`"}},
		{"route player", func(c *Config) { c.Routes[0].Match.Player = "old" }, []string{`routes[0].match.player: want new or returning, got "old"`}},
		{"route out of hours alone", func(c *Config) { c.Routes[0].Match.OutOfHours = true }, []string{"routes[0].match.out_of_hours: needs match.hours"}},
		{"route priority", func(c *Config) { c.Routes[0].Priority = "asap" }, []string{`routes[0].priority: want low, normal, high or urgent, got "asap"`}},
		{"route assignee", func(c *Config) { c.Routes[0].Assignee = "anna" }, []string{`routes[0].assignee: want personal_manager, got "anna"`}},
		{"default helpdesk required", func(c *Config) { c.DefaultHelpdesk = "" }, []string{"default_helpdesk: required when helpdesks are configured"}},
		{"default helpdesk without helpdesks", func(c *Config) { c.Helpdesks = nil; c.Routes = nil }, []string{`default_helpdesk: unknown helpdesk "desk"`}},
		{"duplicate across channel and helpdesk", func(c *Config) {
			c.Helpdesks = append(c.Helpdesks, Helpdesk{Name: "chat", Type: "loopback", Settings: &testDesk{URL: "http://x/"}})
		}, []string{`helpdesks[1].name: duplicate of channels[0].name "chat"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c)
			requireProblems(t, c.Validate(), tt.want...)
		})
	}
}

func TestValidateDoesNotChangeTheConfig(t *testing.T) {
	c := validConfig(t)
	c.Channels[0].Settings = nil
	require.Error(t, c.Validate())
	require.Nil(t, c.Channels[0].Settings)
}

func TestValidationErrorListsOneProblemPerLine(t *testing.T) {
	err := (&ValidationError{Errors: []FieldError{{Path: "a.b", Message: "bad"}, {Message: "whole document"}}}).Error()
	require.Equal(t, "a.b: bad\nwhole document", err)
}
