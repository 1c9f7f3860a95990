package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestExampleLoads(t *testing.T) {
	cfg, err := Load("example.yaml", env(map[string]string{"ADMIN_TOKEN": "admin-token"}))
	require.NoError(t, err)
	require.Equal(t, "admin-token", cfg.Admin.Token.Value())
	require.Equal(t, "http://localhost:8080", cfg.PublicURL)
	require.Equal(t, "data/gateway.db", cfg.Store.DSN.Value(), "an empty ${STORE_DSN:-} keeps the default")
	require.Equal(t, "http://127.0.0.1:9000/send", cfg.Channels[0].Loopback.SendURL)
	require.Equal(t, "http://127.0.0.1:9001/tickets", cfg.Helpdesks[0].Loopback.URL)
	require.Equal(t, "test-desk", cfg.Routes[0].Helpdesk)
	require.Equal(t, "test-desk", cfg.DefaultHelpdesk)

	web := cfg.Channels[1].Webchat
	require.Equal(t, "/chat", web.Path)
	require.Empty(t, web.TokenSecret.Value(), "an empty ${WEBCHAT_TOKEN_SECRET:-} leaves the secret to be generated")
	require.Empty(t, web.PlayerSecret.Value(), "an empty ${WEBCHAT_PLAYER_SECRET:-} means anonymous players")
	require.Equal(t, "Hi! How can we help you today?", web.Greetings["en"])
	box := cfg.Helpdesks[1].Inbox
	require.Equal(t, "/inbox", box.Path)
	require.Equal(t, "./data/inbox.db", box.Database)
	require.Equal(t, "alice", box.Agents[0].Name)
	require.Regexp(t, bcryptPattern, box.Agents[0].PasswordHash.Value(), "the default after :- is taken literally, $ and all")
	require.Equal(t, "inbox", cfg.Routes[1].Helpdesk)
}

func TestExampleSecretsFromEnvironment(t *testing.T) {
	const hash = "$2b$10$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"
	cfg, err := Load("example.yaml", env(map[string]string{
		"ADMIN_TOKEN":               "admin-token",
		"WEBCHAT_TOKEN_SECRET":      "token-secret",
		"WEBCHAT_PLAYER_SECRET":     "player-secret",
		"INBOX_ALICE_PASSWORD_HASH": hash,
	}))
	require.NoError(t, err)
	require.Equal(t, "token-secret", cfg.Channels[1].Webchat.TokenSecret.Value())
	require.Equal(t, "player-secret", cfg.Channels[1].Webchat.PlayerSecret.Value())
	require.Equal(t, hash, cfg.Helpdesks[1].Inbox.Agents[0].PasswordHash.Value())

	_, err = Load("example.yaml", env(map[string]string{"ADMIN_TOKEN": "t", "INBOX_ALICE_PASSWORD_HASH": "hunter2"}))
	requireProblems(t, err, "helpdesks[1].agents[0].password_hash: want a bcrypt hash")
	require.NotContains(t, err.Error(), "hunter2", "a wrong hash may be a password: it is not echoed")
}

func TestExampleNeedsAdminToken(t *testing.T) {
	_, err := Load("example.yaml", env(nil))
	requireProblems(t, err, "admin.token: environment variable ADMIN_TOKEN is not set")
}

// TestExampleUsesEveryKey keeps example.yaml complete as types.go grows: every key of the
// schema, including the settings of every channel and helpdesk type, must appear in it.
// (*_file alternatives are documented in comments; a Secret cannot be given both ways.)
func TestExampleUsesEveryKey(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))

	used := map[string]bool{}
	yamlKeys(doc.Content[0], "", used)
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		require.True(t, used[key], "example.yaml lacks %s", key)
	}
}

// yamlKeys collects the key paths of a node tree, with [] for any list index.
func yamlKeys(n *yaml.Node, path string, into map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinKey(path, n.Content[i].Value)
			into[p] = true
			yamlKeys(n.Content[i+1], p, into)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			yamlKeys(item, path+"[]", into)
		}
	}
}

// schemaKeys lists the key paths the decoder accepts for t, with [] for any list index.
func schemaKeys(t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			path += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return nil
	}
	var keys []string
	for name, f := range fieldsOf(t) {
		if f.file {
			continue
		}
		p := joinKey(path, name)
		keys = append(keys, p)
		keys = append(keys, schemaKeys(t.Field(f.index).Type, p)...)
	}
	// The settings of every type of a typed entry sit in the entry's own mapping.
	if e, ok := reflect.New(t).Interface().(typedEntry); ok {
		for _, typ := range strings.Split(e.knownTypes(), ", ") {
			reflect.ValueOf(e).Elem().FieldByName("Type").SetString(typ)
			s, _ := e.typeSettings()
			keys = append(keys, schemaKeys(reflect.TypeOf(s), path)...)
		}
	}
	slices.Sort(keys)
	return keys
}
