package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func telegramYAML(extra string) string {
	return "admin:\n  token: x\nchannels:\n  - name: tg\n    type: telegram\n    token: 123:abc\n" + extra +
		"helpdesks:\n  - name: desk\n    type: loopback\n    url: http://127.0.0.1:1/\ndefault_helpdesk: desk\n"
}

func TestTelegramPlayerSecret(t *testing.T) {
	noEnv := env(nil)

	cfg, err := Parse([]byte(telegramYAML("")), t.TempDir(), noEnv)
	require.NoError(t, err)
	require.Empty(t, cfg.Channels[0].Telegram.PlayerSecret.Value(), "optional: players chat anonymously")

	cfg, err = Parse([]byte(telegramYAML("    player_secret: 0123456789abcdef\n")), t.TempDir(), noEnv)
	require.NoError(t, err, "16 bytes are enough")
	require.Equal(t, "0123456789abcdef", cfg.Channels[0].Telegram.PlayerSecret.Value())

	_, err = Parse([]byte(telegramYAML("    player_secret: 0123456789abcde\n")), t.TempDir(), noEnv)
	requireProblems(t, err, "channels[0].player_secret: want at least 16 bytes, got 15")
	require.NotContains(t, err.Error(), "0123456789abcde", "the secret is not echoed")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tg-player"), []byte("from-a-file-0123456789\n"), 0o600))
	cfg, err = Parse([]byte(telegramYAML("    player_secret_file: tg-player\n")), dir, noEnv)
	require.NoError(t, err)
	require.Equal(t, "from-a-file-0123456789", cfg.Channels[0].Telegram.PlayerSecret.Value())
}

func TestTelegramExamplePlayerSecret(t *testing.T) {
	cfg, err := Load("example.yaml", env(map[string]string{"ADMIN_TOKEN": "a"}))
	require.NoError(t, err)
	tg := cfg.Channels[2].Telegram
	require.NotNil(t, tg)
	require.Empty(t, tg.PlayerSecret.Value(), "an empty ${TELEGRAM_PLAYER_SECRET:-} means anonymous players")

	cfg, err = Load("example.yaml", env(map[string]string{"ADMIN_TOKEN": "a", "TELEGRAM_PLAYER_SECRET": "casino-telegram-links-2026"}))
	require.NoError(t, err)
	require.Equal(t, "casino-telegram-links-2026", cfg.Channels[2].Telegram.PlayerSecret.Value())

	_, err = Load("example.yaml", env(map[string]string{"ADMIN_TOKEN": "a", "TELEGRAM_PLAYER_SECRET": "short"}))
	requireProblems(t, err, "channels[2].player_secret: want at least 16 bytes")
}
