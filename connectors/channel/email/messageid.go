package email

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// syntheticDomain is the right-hand side of the IDs given to mails without a Message-ID; the
// .invalid top-level domain can never be anyone's.
const syntheticDomain = "synthetic.invalid"

// replyMessageID is the Message-ID, without angle brackets, of the reply id: derived from the
// gateway's message ID, so every attempt to send the reply carries the same one (the Sent
// folder check and the player's client see one mail), and a bounce naming it leads back to
// the reply without a look-up.
func replyMessageID(id normalize.MessageID, domain string) string {
	return string(id) + "@" + domain
}

// replyOf returns the gateway's message ID that a Message-ID of ours names; ok is false for
// a Message-ID the gateway did not make.
func replyOf(messageID, domain string) (normalize.MessageID, bool) {
	left, right, found := strings.Cut(strings.Trim(strings.TrimSpace(messageID), "<>"), "@")
	if !found || !strings.EqualFold(right, domain) || !isMessageID(left) {
		return "", false
	}
	return normalize.MessageID(left), true
}

// isMessageID reports whether s has the shape of normalize.NewMessageID's IDs.
func isMessageID(s string) bool {
	if len(s) != 33 || s[0] != 'm' {
		return false
	}
	_, err := hex.DecodeString(s[1:])
	return err == nil
}

// syntheticMessageID is the stable ID of a mail that has no Message-ID: a hash of the raw
// mail, so the same mail read again (a crash before \Seen, a changed UIDVALIDITY) is the
// same message to the store's dedup.
func syntheticMessageID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16]) + "@" + syntheticDomain
}
