package telegram

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
)

// The config package's tests are not ours to extend here, so the telegram settings' defaults
// and validation are checked through config.Parse.
func parse(t *testing.T, entry string) (*config.Config, error) {
	t.Helper()
	yaml := "admin:\n  token: x\nchannels:\n  - name: tg\n    type: telegram\n" + entry +
		"helpdesks:\n  - name: desk\n    type: loopback\n    url: http://127.0.0.1:1/\ndefault_helpdesk: desk\n"
	return config.Parse([]byte(yaml), t.TempDir(), func(string) (string, bool) { return "", false })
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := parse(t, "    token: 123:abc\n")
	require.NoError(t, err)
	tg := cfg.Channels[0].Telegram
	require.Equal(t, "polling", tg.Mode)
	require.Equal(t, "https://api.telegram.org", tg.APIURL)
	require.Equal(t, []string{"message", "edited_message"}, tg.AllowedUpdates)
	require.Equal(t, 30*time.Second, tg.PollTimeout)
	require.False(t, tg.AllowGroups)
	require.Contains(t, tg.Greetings, "en")
	require.Empty(t, tg.PlayerSecret.Value(), "players are anonymous unless player_secret is set")
}

func TestConfigValidation(t *testing.T) {
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
			_, err := parse(t, tt.entry)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := parse(t, "    token: 1:a\n    mode: webhook\n    webhook_secret: ok_Secret-1\n")
	require.NoError(t, err)
}
