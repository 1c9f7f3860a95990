package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/whatsapp"
)

// TestWhatsAppPairRefusals drives `gateway whatsapp pair` through run up to the point where it
// would reach WhatsApp: which instance it pairs, and that it leaves a session a running
// gateway holds alone. Pairing itself is tested on a fake client in the channel's package.
func TestWhatsAppPairRefusals(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`
data_dir: %s
channels:
  - {name: wa-one, type: whatsapp}
  - {name: wa-two, type: whatsapp}
helpdesks: [{name: inbox, type: inbox}]
default_helpdesk: inbox
`, data)), 0o600))

	// A running gateway holds wa-one's session.
	held, err := whatsapp.OpenSession(t.Context(), filepath.Join(data, "whatsapp", "wa-one.db"), nil)
	require.NoError(t, err)
	defer held.Close()

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no subcommand", []string{"whatsapp"}, 2, "gateway whatsapp pair --instance NAME"},
		{"unknown subcommand", []string{"whatsapp", "unpair"}, 2, "Usage:"},
		{"several instances", []string{"whatsapp", "pair", "--config", file}, 2, "choose one with --instance NAME"},
		{"unknown instance", []string{"whatsapp", "pair", "--config", file, "--instance", "wa-three"}, 2, `no whatsapp channel named "wa-three"`},
		{"invalid phone", []string{"whatsapp", "pair", "--config", file, "--instance", "wa-two", "--phone", "12"}, 1, "--phone"},
		{"session in use", []string{"whatsapp", "pair", "--config", file, "--instance", "wa-one"}, 1, "stop it and run this again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, nil, &stdout, &stderr)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			require.Contains(t, stderr.String(), tt.stderr)
		})
	}
}
