package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/webchat"
)

const (
	linkWebSecret = "web-player-secret-0123456789"
	linkTGSecret  = "tg-player-secret-0123456789"
	linkConfig    = `listen: 127.0.0.1:0
data_dir: %DIR%
channels:
  - name: chat
    type: webchat
    player_secret: ` + linkWebSecret + `
  - name: tg-main
    type: telegram
    token: "123456:test"
    player_secret: ` + linkTGSecret + `
  - name: anon
    type: webchat
    path: /anon-chat
helpdesks:
  - name: inbox
    type: inbox
default_helpdesk: inbox
`
)

// gateway link-token signs with the named channel's player_secret what that channel accepts,
// and --verify tells a token it did not sign, or one signed for another channel, apart.
func TestLinkTokenCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(linkConfig, "%DIR%", dir)), 0o600))
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := linkTokenCmd(append([]string{"--config", path}, args...), noEnv, &out, &errOut)
		return code, strings.TrimSpace(out.String()), errOut.String()
	}

	code, token, stderr := run("--channel", "chat", "--player", "P-1001", "--vip", "3", "--name", "Ana", "--language", "ro")
	require.Equal(t, 0, code, stderr)
	p, err := webchat.VerifyPlayerToken([]byte(linkWebSecret), token, time.Now())
	require.NoError(t, err)
	require.Equal(t, webchat.PlayerToken{PlayerID: "P-1001", VIP: 3, Name: "Ana", Language: "ro"}, p)
	code, out, _ := run("--channel", "chat", "--verify", token)
	require.Equal(t, 0, code)
	require.Equal(t, `valid: player_id=P-1001 vip=3 name="Ana" language=ro`, out)

	code, link, stderr := run("--channel", "tg-main", "--player", "P_1001", "--vip", "3", "--bot", "CasinoSupportBot", "--ttl", "1h")
	require.Equal(t, 0, code, stderr)
	payload, ok := strings.CutPrefix(link, "https://t.me/CasinoSupportBot?start=")
	require.True(t, ok, link)
	id, vip, err := telegram.VerifyStart([]byte(linkTGSecret), payload, time.Now())
	require.NoError(t, err)
	require.Equal(t, "P_1001", id)
	require.Equal(t, 3, vip)
	code, out, _ = run("--channel", "tg-main", "--verify", link)
	require.Equal(t, 0, code)
	require.Equal(t, "valid: player_id=P_1001 vip=3", out)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"a web token on telegram", []string{"--channel", "tg-main", "--verify", token}, 1, "refused: start payload is malformed"},
		{"a deep link on the web chat", []string{"--channel", "chat", "--verify", payload}, 1, "refused: player token: token is malformed"},
		{"another channel's secret", []string{"--channel", "chat", "--verify", strings.Replace(token, token[:3], "eyK", 1)}, 1, "refused"},
		{"no player_secret", []string{"--channel", "anon", "--player", "1"}, 2, `channel "anon" has no player_secret`},
		{"unknown channel", []string{"--channel", "nope", "--player", "1"}, 2, `no channel named "nope"`},
		{"telegram without bot", []string{"--channel", "tg-main", "--player", "P1"}, 2, "needs --bot"},
		{"player id too long for telegram", []string{"--channel", "tg-main", "--player", strings.Repeat("9", 25), "--bot", "CasinoSupportBot"}, 2, "64-character"},
		{"neither player nor verify", []string{"--channel", "chat"}, 2, "either --player or --verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.stderr)
		})
	}
}
