package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/casino-support/gateway/config"
	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	deskloop "github.com/casino-support/gateway/connectors/helpdesk/loopback"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

// config/example.yaml documents every key of every connector type, and operators copy it;
// it is tested here because only this package knows both the loader and the connector types.

const examplePath = "../../config/example.yaml"

func TestExampleLoads(t *testing.T) {
	cfg, err := loadExample(map[string]string{"ADMIN_TOKEN": "admin-token"})
	require.NoError(t, err)
	require.Equal(t, "admin-token", cfg.Admin.Token.Value())
	require.Equal(t, "http://localhost:8080", cfg.PublicURL)
	require.Equal(t, "data/gateway.db", cfg.Store.DSN.Value(), "an empty ${STORE_DSN:-} keeps the default")
	require.Equal(t, "http://127.0.0.1:9000/send", cfg.Channels[0].Settings.(*chanloop.Config).SendURL)
	require.Equal(t, "http://127.0.0.1:9001/tickets", cfg.Helpdesks[0].Settings.(*deskloop.Config).URL)
	require.Equal(t, "test-desk", cfg.Routes[0].Helpdesk)
	require.Equal(t, "test-desk", cfg.DefaultHelpdesk)

	web := cfg.Channels[1].Settings.(*webchat.Config)
	require.Equal(t, "/chat", web.Path)
	require.Empty(t, web.TokenSecret.Value(), "an empty ${WEBCHAT_TOKEN_SECRET:-} leaves the secret to be generated")
	require.Empty(t, web.PlayerSecret.Value(), "an empty ${WEBCHAT_PLAYER_SECRET:-} means anonymous players")
	require.Equal(t, "Hi! How can we help you today?", web.Greetings["en"])
	box := cfg.Helpdesks[1].Settings.(*inbox.Config)
	require.Equal(t, "/inbox", box.Path)
	require.Equal(t, "./data/inbox.db", box.Database)
	require.Equal(t, "alice", box.Agents[0].Name)
	require.Equal(t, agentHash, box.Agents[0].PasswordHash.Value(), "the default after :- is taken literally, $ and all")
	require.Equal(t, "inbox", cfg.Routes[1].Helpdesk)
}

func TestExampleSecretsFromEnvironment(t *testing.T) {
	const hash = "$2b$10$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"
	// The web chat's secrets are HMAC keys of at least 16 bytes; the loader used to take
	// shorter ones, which webchat.New then refused.
	cfg, err := loadExample(map[string]string{
		"ADMIN_TOKEN":               "admin-token",
		"WEBCHAT_TOKEN_SECRET":      "token-secret-0123456789",
		"WEBCHAT_PLAYER_SECRET":     "player-secret-0123456789",
		"INBOX_ALICE_PASSWORD_HASH": hash,
	})
	require.NoError(t, err)
	require.Equal(t, "token-secret-0123456789", cfg.Channels[1].Settings.(*webchat.Config).TokenSecret.Value())
	require.Equal(t, "player-secret-0123456789", cfg.Channels[1].Settings.(*webchat.Config).PlayerSecret.Value())
	require.Equal(t, hash, cfg.Helpdesks[1].Settings.(*inbox.Config).Agents[0].PasswordHash.Value())

	_, err = loadExample(map[string]string{"ADMIN_TOKEN": "t", "INBOX_ALICE_PASSWORD_HASH": "hunter2"})
	requireProblems(t, err, "helpdesks[1].agents[0].password_hash: want a bcrypt hash")
	require.NotContains(t, err.Error(), "hunter2", "a wrong hash may be a password: it is not echoed")

	// What the old version of this test set is now refused, once per secret, without the secrets.
	_, err = loadExample(map[string]string{"ADMIN_TOKEN": "t", "WEBCHAT_TOKEN_SECRET": "token-secret", "WEBCHAT_PLAYER_SECRET": "player-secret"})
	requireProblems(t, err,
		"channels[1].token_secret: want at least 16 bytes, got 12",
		"channels[1].player_secret: want at least 16 bytes, got 13")
	require.NotContains(t, err.Error(), "token-secret")
	require.NotContains(t, err.Error(), "player-secret")
}

// TestExampleChecksAsShipped: a newcomer's first `gateway check-config --config
// config/example.yaml` passes with no environment set; every ${...} in it has a default.
func TestExampleChecksAsShipped(t *testing.T) {
	cfg, err := loadExample(nil)
	require.NoError(t, err)
	require.Empty(t, cfg.Admin.Token.Value(), "without ADMIN_TOKEN the admin API is disabled, not the gateway")

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"check-config", "--config", "../../config/example.yaml"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	require.Contains(t, stdout.String(), "config/example.yaml: OK")
}

func TestTelegramExamplePlayerSecret(t *testing.T) {
	cfg, err := loadExample(map[string]string{"ADMIN_TOKEN": "a"})
	require.NoError(t, err)
	tg, ok := cfg.Channels[2].Settings.(*telegram.Config)
	require.True(t, ok, "channels[2] is the Telegram bot, settings %T", cfg.Channels[2].Settings)
	require.Empty(t, tg.PlayerSecret.Value(), "an empty ${TELEGRAM_PLAYER_SECRET:-} means anonymous players")

	cfg, err = loadExample(map[string]string{"ADMIN_TOKEN": "a", "TELEGRAM_PLAYER_SECRET": "casino-telegram-links-2026"})
	require.NoError(t, err)
	require.Equal(t, "casino-telegram-links-2026", cfg.Channels[2].Settings.(*telegram.Config).PlayerSecret.Value())

	_, err = loadExample(map[string]string{"ADMIN_TOKEN": "a", "TELEGRAM_PLAYER_SECRET": "short"})
	requireProblems(t, err, "channels[2].player_secret: want at least 16 bytes")
}

func TestWebhookExample(t *testing.T) {
	cfg, err := loadExample(map[string]string{"ADMIN_TOKEN": "a"})
	require.NoError(t, err)
	var found bool
	for _, h := range cfg.Helpdesks {
		if h.Type == "webhook" {
			found = true
			require.GreaterOrEqual(t, len(h.Settings.(*webhook.Config).Secret.Value()), 16)
		}
	}
	require.True(t, found, "example.yaml shows a webhook helpdesk")
}

// TestExampleUsesEveryKey keeps example.yaml complete as the configuration grows: every key
// the loader accepts with wire.go's catalog, including the settings of every channel and
// helpdesk type, must appear in it. (*_file alternatives are documented in comments; a
// Secret cannot be given both ways.)
func TestExampleUsesEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))

	used := map[string]bool{}
	yamlKeys(doc.Content[0], "", used)
	keys := config.Keys(catalog(connectorTypes()))
	require.Contains(t, keys, "channels[].token", "the catalog's settings are among the keys")
	for _, key := range keys {
		require.True(t, used[key], "example.yaml lacks %s", key)
	}
}

// loadExample loads example.yaml with wire.go's catalog and the given environment.
func loadExample(vars map[string]string) (*config.Config, error) {
	return config.Load(examplePath, fakeEnv(vars), catalog(connectorTypes()))
}

// yamlKeys collects the key paths of a node tree, with [] for any list index.
func yamlKeys(n *yaml.Node, path string, into map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			into[p] = true
			yamlKeys(n.Content[i+1], p, into)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			yamlKeys(item, path+"[]", into)
		}
	}
}
