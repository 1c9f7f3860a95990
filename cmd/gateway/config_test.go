package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/helpdesk/rt"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/connectors/settings"
)

// config/ knows no connector and no connector may import config/, so the settings of each
// connector type are tested here, where wire.go's table meets the loader: as the loader
// decodes, derives and validates them from YAML, with the messages an operator reads.

// TestConnectorTypes checks every row of wire.go's table, so that a new type cannot enter the
// catalog half-made: its defaults must be valid apart from the keys an operator has to give,
// and those are listed here, which documents them.
func TestConnectorTypes(t *testing.T) {
	// The problems of each type's DefaultConfig after Derive: only keys that are required and
	// have no default. A new type adds its row; a type that gains a default loses one.
	required := map[string][]string{
		"channel loopback": {"send_url: required"},
		"channel webchat":  nil,
		"channel telegram": {"token: required"},
		"channel whatsapp": nil,
		"channel whatsapp-cloud": {"phone_number_id: required: the phone number ID from WhatsApp Manager, digits only",
			"access_token: required", "app_secret: required", "verify_token: required"},
		"channel email": {"imap.address: required", "imap.user: required", "imap.password: required",
			"smtp.address: required", "from: required"},
		"channel voice": {"provider: required: twilio or vonage",
			"sms.from: required: the number (or Twilio Messaging Service SID) replies are sent from"},
		"helpdesk loopback": {"url: required"},
		"helpdesk inbox":    nil,
		"helpdesk rt":       {"url: required", "token: required", "gateway_user: required: the RT user name of the token"},
		"helpdesk webhook":  {"url: required", "secret: required", "api_token: required"},
		"helpdesk zendesk": {"url: required", "token: required (or oauth_token)",
			"webhook_secret: required in mode webhook: the webhook's signing secret from Zendesk (at least 16 bytes), got 0 bytes"},
		"helpdesk zammad": {"url: required", "token: required: the access token of the gateway's Zammad user",
			"webhook_token: required in mode webhook: the webhook's HMAC SHA1 signature token (at least 16 bytes), got 0 bytes"},
		"helpdesk chatwoot": {"url: required", "account_id: required: the account's numeric ID",
			"inbox_id: required: the API-channel inbox's numeric ID", "api_token: required",
			"webhook_secret: required, or hook_token for a Chatwoot release that does not sign its webhooks"},
		"helpdesk freshdesk": {"url: required", "api_key: required: the API key of the agent the gateway acts as",
			"webhook_secret: required in mode webhook: the shared secret the automation rule sends (at least 24 bytes), got 0 bytes"},
		"helpdesk helpscout": {"client_id: required: the App ID of the Help Scout app", "client_secret: required: the App Secret of the Help Scout app",
			"mailbox_id: required: the ID of the inbox new conversations go to",
			"webhook_secret: required in mode webhook: the secret key of the Help Scout webhook (at least 16 bytes), got 0 bytes"},
	}
	types := connectorTypes()
	keys := config.Keys(catalog(types))
	seen := map[string]bool{}
	for _, ct := range types {
		family := "helpdesk"
		if ct.kind.IsChannel() {
			family = "channel"
		}
		id := family + " " + ct.name
		t.Run(id, func(t *testing.T) {
			require.False(t, seen[id], "the catalog keeps one row per name and family")
			seen[id] = true
			require.NotEmpty(t, ct.name)
			require.NotEmpty(t, ct.kind, "the kind decides the type's policy, such as its first-response target")
			require.NotNil(t, ct.build)

			s := ct.newConfig()
			require.NotNil(t, s)
			require.NotSame(t, s, ct.newConfig(), "each entry gets settings of its own")
			if d, ok := s.(settings.Deriver); ok {
				d.Derive(settings.Env{Name: ct.name, DataDir: "data"})
			}
			p := settings.NewProblems("")
			s.Validate(p)
			var got []string
			for _, pr := range p.List() {
				require.True(t, strings.HasPrefix(pr.Message, "required"),
					"a default must be valid; only keys without a default may be missing: %s: %s", pr.Key, pr.Message)
				got = append(got, pr.Key+": "+pr.Message)
			}
			want, listed := required[id]
			require.True(t, listed, "list the required keys of %s in this test: %q", id, got)
			require.Equal(t, want, got)

			// Every key of the settings is one the loader accepts and config.Keys lists, so
			// documentation tests see it.
			for _, k := range settingsKeys(reflect.TypeOf(s), family+"s[]") {
				require.Contains(t, keys, k)
			}
		})
	}
	for id := range required {
		require.True(t, seen[id], "%s is listed here but not in connectorTypes()", id)
	}
}

// TestCatalogSettingsTypes checks that the loader puts each type's own settings into an
// entry, as the build functions of wire.go assert them.
func TestCatalogSettingsTypes(t *testing.T) {
	cfg, err := config.Load("../../config/example.yaml", fakeEnv(map[string]string{"ADMIN_TOKEN": "a"}), catalog(connectorTypes()))
	require.NoError(t, err)
	for _, c := range cfg.Channels {
		ct, ok := lookupType(connectorTypes(), true, c.Type)
		require.True(t, ok, c.Type)
		require.IsType(t, ct.newConfig(), c.Settings, "channel %s", c.Name)
	}
	for _, h := range cfg.Helpdesks {
		ct, ok := lookupType(connectorTypes(), false, h.Type)
		require.True(t, ok, h.Type)
		require.IsType(t, ct.newConfig(), h.Settings, "helpdesk %s", h.Name)
	}
}

// Telegram.

func TestTelegramDefaults(t *testing.T) {
	cfg, err := parseTelegram(t, "    token: 123:abc\n")
	require.NoError(t, err)
	tg := cfg.Channels[0].Settings.(*telegram.Config)
	require.Equal(t, "polling", tg.Mode)
	require.Equal(t, "https://api.telegram.org", tg.APIURL)
	require.Equal(t, []string{"message", "edited_message"}, tg.AllowedUpdates)
	require.Equal(t, 30*time.Second, tg.PollTimeout)
	require.False(t, tg.AllowGroups)
	require.Contains(t, tg.Greetings, "en")
	require.Empty(t, tg.PlayerSecret.Value(), "players are anonymous unless player_secret is set")
}

func TestTelegramValidation(t *testing.T) {
	tests := map[string]struct{ entry, want string }{
		"token required":        {"    mode: polling\n", "channels[0].token: required"},
		"token format":          {"    token: abc/def\n", "channels[0].token: want a bot token"},
		"mode":                  {"    token: 1:a\n    mode: push\n", "channels[0].mode: want polling or webhook"},
		"webhook needs secret":  {"    token: 1:a\n    mode: webhook\n", "channels[0].webhook_secret: required in webhook mode"},
		"webhook secret format": {"    token: 1:a\n    mode: webhook\n    webhook_secret: has space\n", "channels[0].webhook_secret"},
		"poll timeout":          {"    token: 1:a\n    poll_timeout: 2m\n", "channels[0].poll_timeout: want 0s to 50s"},
		"api url":               {"    token: 1:a\n    api_url: ftp://x\n", "channels[0].api_url: want an absolute http or https URL"},
		"greeting language":     {"    token: 1:a\n    greetings: {english: hi}\n", "channels[0].greetings.english"},
		"player secret length":  {"    token: 1:a\n    player_secret: too-short\n", "channels[0].player_secret: want at least 16 bytes"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseTelegram(t, tt.entry)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := parseTelegram(t, "    token: 1:a\n    mode: webhook\n    webhook_secret: ok_Secret-1\n")
	require.NoError(t, err)
}

func TestTelegramPlayerSecret(t *testing.T) {
	cfg, err := parseTelegram(t, "    token: 123:abc\n")
	require.NoError(t, err)
	require.Empty(t, cfg.Channels[0].Settings.(*telegram.Config).PlayerSecret.Value(), "optional: players chat anonymously")

	cfg, err = parseTelegram(t, "    token: 123:abc\n    player_secret: 0123456789abcdef\n")
	require.NoError(t, err, "16 bytes are enough")
	require.Equal(t, "0123456789abcdef", cfg.Channels[0].Settings.(*telegram.Config).PlayerSecret.Value())

	_, err = parseTelegram(t, "    token: 123:abc\n    player_secret: 0123456789abcde\n")
	requireProblems(t, err, "channels[0].player_secret: want at least 16 bytes, got 15")
	require.NotContains(t, err.Error(), "0123456789abcde", "the secret is not echoed")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tg-player"), []byte("from-a-file-0123456789\n"), 0o600))
	cfg, err = config.Parse([]byte(telegramYAML("    token: 123:abc\n    player_secret_file: tg-player\n")), dir, fakeEnv(nil), catalog(connectorTypes()))
	require.NoError(t, err)
	require.Equal(t, "from-a-file-0123456789", cfg.Channels[0].Settings.(*telegram.Config).PlayerSecret.Value())
}

// Request Tracker.

const rtYAML = `data_dir: /srv/gw
channels:
  - {name: site, type: webchat}
helpdesks:
  - name: desk
    type: rt
    url: https://rt.example/REST/2.0
    token: ${RT_TOKEN}
    gateway_user: gateway
default_helpdesk: desk
`

func TestRTDefaults(t *testing.T) {
	c, err := config.Parse([]byte(rtYAML), ".", fakeEnv(map[string]string{"RT_TOKEN": "1-2-abc"}), catalog(connectorTypes()))
	require.NoError(t, err)
	require.Equal(t, &rt.Config{URL: "https://rt.example/REST/2.0", Token: "1-2-abc", Queue: "Support", GatewayUser: "gateway",
		RequestorDomain: "players.invalid", PollInterval: 15 * time.Second, SettleDelay: 5 * time.Second,
		ClosedTicket: settings.ClosedFollowUp}, c.Helpdesks[0].Settings)
}

func TestRTValidate(t *testing.T) {
	valid := func() *config.Config {
		c, err := config.Parse([]byte(rtYAML), ".", fakeEnv(map[string]string{"RT_TOKEN": "1-2-abc"}), catalog(connectorTypes()))
		require.NoError(t, err)
		return c
	}
	require.NoError(t, valid().Validate())
	for _, tc := range []struct {
		name   string
		change func(r *rt.Config)
		want   []string
	}{
		{"missing required", func(r *rt.Config) { r.URL, r.Token, r.GatewayUser = "", "", "" }, []string{
			"helpdesks[0].url: required", "helpdesks[0].token: required", "helpdesks[0].gateway_user: required"}},
		{"relative url", func(r *rt.Config) { r.URL = "rt.example/REST/2.0" }, []string{"helpdesks[0].url: want an absolute http or https URL"}},
		{"empty queue", func(r *rt.Config) { r.Queue = "" }, []string{"helpdesks[0].queue: required"}},
		{"bad domain", func(r *rt.Config) { r.RequestorDomain = "Players Invalid" }, []string{"helpdesks[0].requestor_domain: want a lower-case domain"}},
		{"poll too fast", func(r *rt.Config) { r.PollInterval = 500 * time.Millisecond }, []string{"helpdesks[0].poll_interval: must be at least 1s"}},
		{"negative settle", func(r *rt.Config) { r.SettleDelay = -time.Second }, []string{"helpdesks[0].settle_delay: must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(c.Helpdesks[0].Settings.(*rt.Config))
			requireProblems(t, c.Validate(), tc.want...)
		})
	}
}

// Signed webhook.

func TestWebhookDefaults(t *testing.T) {
	cfg, err := config.Parse([]byte(webhookYAML("    url: https://tickets.example/events\n    secret: 0123456789abcdef\n    api_token: tok\n")),
		t.TempDir(), fakeEnv(nil), catalog(connectorTypes()))
	require.NoError(t, err)
	w, ok := cfg.Helpdesks[0].Settings.(*webhook.Config)
	require.True(t, ok, "settings are %T", cfg.Helpdesks[0].Settings)
	require.Equal(t, "https://tickets.example/events", w.URL)
	require.Equal(t, "0123456789abcdef", w.Secret.Value())
	require.Equal(t, "tok", w.APIToken.Value())
	require.Equal(t, 15*time.Second, w.Timeout)
	require.Equal(t, 5*time.Minute, w.MaxSkew)
	require.Equal(t, 24*time.Hour, w.AttachmentURLTTL)
}

func TestWebhookValidate(t *testing.T) {
	tests := []struct {
		name, settings string
		want           []string
	}{
		{"all missing", "", []string{
			"helpdesks[0].url: required",
			"helpdesks[0].secret: required",
			"helpdesks[0].api_token: required",
		}},
		{"bad values", "    url: ftp://tickets.example\n    secret: short\n    api_token: tok\n    timeout: 10ms\n    max_skew: 1s\n    attachment_url_ttl: 1s\n    batch_events: 101\n", []string{
			"helpdesks[0].url: ",
			"helpdesks[0].secret: want at least 16 bytes, got 5",
			"helpdesks[0].timeout: must be at least 1s",
			"helpdesks[0].max_skew: must be at least 10s",
			"helpdesks[0].attachment_url_ttl: must be at least 1m",
			"helpdesks[0].batch_events: want 0 (off) to 100, got 101",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(webhookYAML(tt.settings)), t.TempDir(), fakeEnv(nil), catalog(connectorTypes()))
			requireProblems(t, err, tt.want...)
			require.NotContains(t, err.Error(), "short", "the secret is not echoed")
		})
	}
}

// Helpers.

// fakeEnv fakes os.LookupEnv with a fixed set of variables.
func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// requireProblems asserts that err is a *config.ValidationError whose problems, in order,
// start with the given prefixes; a prefix keeps OS-specific message tails out of the tables.
func requireProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	require.Error(t, err)
	var ve *config.ValidationError
	require.True(t, errors.As(err, &ve), "want *config.ValidationError, got %T: %v", err, err)
	got := make([]string, len(ve.Errors))
	for i, fe := range ve.Errors {
		got[i] = fe.Error()
	}
	require.Len(t, got, len(want), "problems:\n%s", strings.Join(got, "\n"))
	for i := range want {
		require.True(t, strings.HasPrefix(got[i], want[i]), "problem %d:\n got %q\nwant %q...\nall:\n%s", i, got[i], want[i], strings.Join(got, "\n"))
	}
	require.Equal(t, strings.Join(got, "\n"), err.Error(), "Error() lists the problems one per line")
}

// telegramYAML is a file whose channels[0] is a Telegram bot with the given keys.
func telegramYAML(entry string) string {
	return "admin:\n  token: x\nchannels:\n  - name: tg\n    type: telegram\n" + entry +
		"helpdesks:\n  - name: desk\n    type: loopback\n    url: http://127.0.0.1:1/\ndefault_helpdesk: desk\n"
}

// parseTelegram parses telegramYAML(entry) with no environment.
func parseTelegram(t *testing.T, entry string) (*config.Config, error) {
	t.Helper()
	return config.Parse([]byte(telegramYAML(entry)), t.TempDir(), fakeEnv(nil), catalog(connectorTypes()))
}

// webhookYAML is a file whose helpdesks[0] is a signed webhook with the given keys.
func webhookYAML(settings string) string {
	return "admin:\n  token: x\nchannels:\n  - name: chat\n    type: loopback\n    send_url: http://127.0.0.1:1/\n" +
		"helpdesks:\n  - name: hooks\n    type: webhook\n" + settings + "default_helpdesk: hooks\n"
}

// settingsKeys lists the key paths of a settings struct below path, from its yaml tags, with
// [] for any list index and no *_file alternatives: what config.Keys should list for it. It
// reads the tags itself rather than asking the loader, so the two can be compared.
func settingsKeys(t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			path += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported() || name == "-":
			continue
		case name == "":
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, path+"."+name)
		keys = append(keys, settingsKeys(f.Type, path+"."+name)...)
	}
	slices.Sort(keys)
	return keys
}

// TestPostgresStoreIsAccepted: check-config passes a PostgreSQL store without connecting to
// it, and serve connects at start: a database that does not answer stops it before anything
// runs, naming the store.
func TestPostgresStoreIsAccepted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	dsn := "postgres://gw@" + closedAddr(t) + "/gw?connect_timeout=5"
	require.NoError(t, os.WriteFile(path, []byte("listen: 127.0.0.1:0\ndata_dir: "+dir+"\nstore:\n  driver: postgres\n  dsn: "+dsn+"\n"), 0o600))
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"check-config", "--config", path}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, "check-config: %s", stderr.String())

	stdout.Reset()
	stderr.Reset()
	code = run(t.Context(), []string{"serve", "--config", path}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 1, code, "serve: %s", stderr.String())
	require.Contains(t, stderr.String(), "store: postgres: connect", "serve")
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
