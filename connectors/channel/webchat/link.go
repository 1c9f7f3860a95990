package webchat

import (
	"errors"
	"fmt"
	"time"

	"github.com/casino-support/gateway/connectors/linktoken"
	"github.com/casino-support/gateway/normalize"
)

// proof is what proved the identity's player ID, for the store's link of the player to the
// conversation: only a verified player token sets PlayerID (the visitor token carries it on
// after the casino's token proved it once).
func (id identity) proof() string {
	if id.PlayerID == "" {
		return ""
	}
	return normalize.LinkedByWebchatToken
}

// PlayerToken is who a casino's player token says is chatting (docs/webchat.md).
type PlayerToken struct {
	PlayerID string
	VIP      int
	Name     string
	Language string
}

// SignPlayerToken returns the player token for p, valid until exp, signed with the chat's
// player_secret: the reference implementation of the format the casino's backend produces,
// behind `gateway link-token`. It refuses what the chat would refuse, so a token it signs is
// one the chat accepts until exp.
func SignPlayerToken(secret []byte, p PlayerToken, exp time.Time) (string, error) {
	switch {
	case len(secret) < minSecretLen:
		return "", fmt.Errorf("webchat: player_secret must be at least %d bytes", minSecretLen)
	case p.PlayerID == "" || !printable(p.PlayerID, maxPlayerIDLen):
		return "", fmt.Errorf("webchat: player_id must be 1 to %d printable characters", maxPlayerIDLen)
	case !printable(p.Name, maxNameLen):
		return "", fmt.Errorf("webchat: name must be at most %d printable characters", maxNameLen)
	case p.VIP < 0 || p.VIP > 1000:
		return "", fmt.Errorf("webchat: vip must be 0 to 1000")
	case p.Language != "" && !validLanguage(p.Language):
		return "", fmt.Errorf("webchat: language %q is not a language tag", p.Language)
	}
	return signToken(secret, claims{PlayerID: idString(p.PlayerID), VIP: p.VIP, Name: p.Name, Language: p.Language, Exp: exp.Unix()}), nil
}

// VerifyPlayerToken checks a player token as the chat does and returns who it names; errors
// wrap ErrTokenMalformed, ErrTokenSignature or ErrTokenExpired.
func VerifyPlayerToken(secret []byte, token string, now time.Time) (PlayerToken, error) {
	cl, err := verifyToken(secret, token, "player token", now)
	if err == nil && cl.PlayerID == "" {
		err = fmt.Errorf("player token: %w: player_id is required", ErrTokenMalformed)
	}
	if err != nil {
		return PlayerToken{}, err
	}
	return PlayerToken{PlayerID: string(cl.PlayerID), VIP: cl.VIP, Name: cl.Name, Language: cl.Language}, nil
}

// refusalReason is the gateway_player_token_refused_total reason of a token error.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, ErrTokenSignature):
		return linktoken.ReasonForged
	case errors.Is(err, ErrTokenExpired):
		return linktoken.ReasonExpired
	}
	return linktoken.ReasonMalformed
}
