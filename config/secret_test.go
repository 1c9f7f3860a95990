package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretIsRedacted(t *testing.T) {
	s := Secret("hunter2")
	for _, format := range []string{"%v", "%s", "%#v", "%+v", "%q", "%x"} {
		require.NotContains(t, fmt.Sprintf(format, s), "hunter2", format)
		require.NotContains(t, fmt.Sprintf(format, &s), "hunter2", "pointer, "+format)
	}
	require.Equal(t, "[redacted]", fmt.Sprintf("%v", s))
	require.Equal(t, "[redacted]", fmt.Sprintf("%s", s))
	require.Equal(t, "[redacted]", fmt.Sprintf("%#v", s))
	require.Equal(t, "hunter2", s.Value())
}

func TestSecretIsRedactedInStructs(t *testing.T) {
	c := validConfig(t)
	c.Admin.Token = "hunter2"
	c.Store.DSN = "postgres://gw:hunter2@db/gw"
	c.Channels[0].Settings.(*testLoopback).Secret = "hunter2"
	d := defaultConfig(t)
	d.Channels[0].Settings.(*testWebchat).TokenSecret = "hunter2"
	d.Helpdesks[0].Settings.(*testInbox).Agents = []testInboxAgent{{Name: "alice", PasswordHash: "hunter2"}}
	c.Channels = append(c.Channels, d.Channels...)
	c.Helpdesks = append(c.Helpdesks, d.Helpdesks...)

	for _, format := range []string{"%v", "%+v", "%#v"} {
		out := fmt.Sprintf(format, c.Admin) + fmt.Sprintf(format, *c) + fmt.Sprintf(format, c.Channels) +
			fmt.Sprintf(format, c.Helpdesks) + fmt.Sprintf(format, *c.Channels[1].Settings.(*testWebchat)) +
			fmt.Sprintf(format, *c.Helpdesks[1].Settings.(*testInbox))
		require.NotContains(t, out, "hunter2", format)
		require.Contains(t, out, "[redacted]", format)
	}
	require.Equal(t, "{Token:[redacted]}", fmt.Sprintf("%+v", c.Admin))

	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.NotContains(t, string(b), "hunter2")

	var log strings.Builder
	slog.New(slog.NewJSONHandler(&log, nil)).Info("config", "config", c, "token", c.Admin.Token)
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "config", c, "token", c.Admin.Token)
	require.NotContains(t, log.String(), "hunter2")
}

// TestMalformedSecretReferenceIsNotEchoed: a ${...} that is not a valid reference, such as
// a shell form or a mistyped name, holds the secret itself (its default, or a literal secret
// that happens to contain "${"); the message must locate the problem without quoting it.
func TestMalformedSecretReferenceIsNotEchoed(t *testing.T) {
	for _, token := range []string{
		"${ADMIN-TOKEN:-hunter2}",  // '-' in the name, with a literal default
		"${ADMIN_TOKEN:=hunter2}",  // the shell's assign-default form
		"${ADMIN_TOKEN-hunter2}",   // the shell's unset-only default
		"pa${hunter2 with spaces}", // a literal secret that happens to hold "${"
	} {
		t.Run(token, func(t *testing.T) {
			_, err := parse([]byte("admin:\n  token: \""+token+"\"\n"), "", nil)
			requireProblems(t, err, "admin.token: invalid environment variable reference")
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
	// Elsewhere the reference is quoted, since it is what needs fixing.
	_, err := parse([]byte("listen: ${LISTEN-ADDR}\n"), "", nil)
	requireProblems(t, err, `listen: invalid environment variable name "LISTEN-ADDR"`)
}
