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
