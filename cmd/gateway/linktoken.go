package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/webchat"
)

const linkTokenUsage = `usage:
  gateway link-token --channel NAME --player ID [--vip N] [--name NAME] [--language TAG]
                     [--ttl 10m] [--bot USERNAME] [--config FILE]
  gateway link-token --channel NAME --verify TOKEN [--config FILE]

Signs what the casino's site gives a signed-in player so that the gateway links their
conversations (docs/policy.md, "Linking a player's conversations"), with the channel's
player_secret from the configuration: for a webchat channel the player token of the widget's
data-player-token; for a telegram channel the deep link https://t.me/<bot>?start=<payload>
(--bot names the bot). --verify checks a token or deep-link payload as the channel would.
The casino's backend signs its own tokens; this command is for trying the set-up out and for
checking a token a player reports.
`

// linkTokenCmd implements `gateway link-token`.
func linkTokenCmd(args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("link-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, linkTokenUsage) }
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG or the embedded default)")
	channel := fs.String("channel", "", "the webchat or telegram channel instance")
	player := fs.String("player", "", "the casino's player ID")
	vip := fs.Int("vip", 0, "VIP tier, 0 for none")
	name := fs.String("name", "", "the player's name, shown to agents (webchat only)")
	lang := fs.String("language", "", "the player's language tag (webchat only)")
	ttl := fs.Duration("ttl", 10*time.Minute, "how long the token is valid")
	bot := fs.String("bot", "", "the Telegram bot's username, without @ (telegram only)")
	verify := fs.String("verify", "", "check this token (or deep-link payload) instead of signing one")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *channel == "" || (*player == "") == (*verify == "") || *ttl <= 0 {
		fmt.Fprint(stderr, "gateway link-token: --channel and either --player or --verify are required; --ttl must be positive\n\n"+linkTokenUsage)
		return 2
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway link-token: %v\n", err)
		return 1
	}
	secret, settings, err := playerSecretOf(cfg, *channel)
	if err != nil {
		fmt.Fprintf(stderr, "gateway link-token: %v\n", err)
		return 2
	}
	now := time.Now()
	switch settings.(type) {
	case *webchat.Config:
		if *verify != "" {
			p, err := webchat.VerifyPlayerToken(secret, *verify, now)
			return printVerified(stdout, stderr, err, "player_id=%s vip=%d name=%q language=%s\n", p.PlayerID, p.VIP, p.Name, p.Language)
		}
		token, err := webchat.SignPlayerToken(secret, webchat.PlayerToken{PlayerID: *player, VIP: *vip, Name: *name, Language: *lang}, now.Add(*ttl))
		if err != nil {
			fmt.Fprintf(stderr, "gateway link-token: %v\n", err)
			return 2
		}
		fmt.Fprintln(stdout, token)
	case *telegram.Config:
		if *verify != "" {
			payload := *verify
			if _, after, ok := strings.Cut(payload, "?start="); ok {
				payload = after
			}
			id, v, err := telegram.VerifyStart(secret, payload, now)
			return printVerified(stdout, stderr, err, "player_id=%s vip=%d\n", id, v)
		}
		if *bot == "" {
			fmt.Fprintln(stderr, "gateway link-token: a telegram channel needs --bot USERNAME (the bot's @name, without @)")
			return 2
		}
		link, err := telegram.StartLink(*bot, secret, *player, *vip, now.Add(*ttl))
		if err != nil {
			fmt.Fprintf(stderr, "gateway link-token: %v\n", err)
			return 2
		}
		fmt.Fprintln(stdout, link)
	}
	return 0
}

// printVerified prints what a verified token names, or why it is refused (exit 1).
func printVerified(stdout, stderr io.Writer, err error, format string, args ...any) int {
	if err != nil {
		fmt.Fprintf(stderr, "gateway link-token: refused: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "valid: "+format, args...)
	return 0
}

// playerSecretOf returns the player_secret of the webchat or telegram channel named name.
func playerSecretOf(cfg *config.Config, name string) ([]byte, any, error) {
	for _, c := range cfg.Channels {
		if c.Name != name {
			continue
		}
		var secret string
		switch s := c.Settings.(type) {
		case *webchat.Config:
			secret = s.PlayerSecret.Value()
		case *telegram.Config:
			secret = s.PlayerSecret.Value()
		default:
			return nil, nil, fmt.Errorf("channel %q is a %s channel; only webchat and telegram channels link players by token", name, c.Type)
		}
		if secret == "" {
			return nil, nil, fmt.Errorf("channel %q has no player_secret: set it (or player_secret_file) to link players", name)
		}
		return []byte(secret), c.Settings, nil
	}
	return nil, nil, errors.New("no channel named " + fmt.Sprintf("%q", name) + " in the configuration")
}
