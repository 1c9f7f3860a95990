package telegram

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/casino-support/gateway/connectors/linktoken"
)

// botNamePattern is a Telegram bot username: 5 to 32 letters, digits and underscores.
var botNamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{5,32}$`)

// StartLink returns the deep link https://t.me/<bot>?start=<payload> that identifies
// playerID (VIP tier vip) to the bot until exp, signed with the channel's player_secret. It
// is the reference implementation of the format docs/telegram.md gives casino backends, behind
// `gateway link-token`, and refuses what the channel would refuse: a link it returns is one
// the channel accepts until exp.
func StartLink(bot string, secret []byte, playerID string, vip int, exp time.Time) (string, error) {
	if !botNamePattern.MatchString(bot) {
		return "", fmt.Errorf("telegram: bot %q is not a bot username (5 to 32 of A-Z a-z 0-9 _, without @)", bot)
	}
	payload, err := SignStart(secret, playerID, vip, exp)
	if err != nil {
		return "", err
	}
	return "https://t.me/" + bot + "?start=" + url.QueryEscape(payload), nil
}

// SignStart returns the /start payload alone (see StartLink).
func SignStart(secret []byte, playerID string, vip int, exp time.Time) (string, error) {
	switch {
	case len(secret) < 16:
		return "", errors.New("telegram: player_secret must be at least 16 bytes")
	case !startPlayerIDPattern.MatchString(playerID):
		return "", fmt.Errorf("telegram: player_id %q must be 1 to 24 of A-Z a-z 0-9 _ to fit Telegram's 64-character start parameter", playerID)
	case vip < 0 || vip > maxVIP:
		return "", fmt.Errorf("telegram: vip must be 0 to %d", maxVIP)
	case exp.Unix() <= 0:
		return "", errors.New("telegram: expiry must be after 1970")
	}
	return signStart(secret, playerIdentity{PlayerID: playerID, VIP: vip}, exp), nil
}

// VerifyStart checks a /start payload as the channel does and returns the player ID and VIP
// tier it names; errors wrap ErrStartMalformed, ErrStartSignature or ErrStartExpired.
func VerifyStart(secret []byte, payload string, now time.Time) (playerID string, vip int, err error) {
	id, err := verifyStart(secret, payload, now)
	return id.PlayerID, id.VIP, err
}

// startRefusalReason is the gateway_player_token_refused_total reason of a payload error.
func startRefusalReason(err error) string {
	switch {
	case errors.Is(err, ErrStartSignature):
		return linktoken.ReasonForged
	case errors.Is(err, ErrStartExpired):
		return linktoken.ReasonExpired
	}
	return linktoken.ReasonMalformed
}
