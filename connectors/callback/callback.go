// Package callback owns the one shape of a player's request to be called back, whichever
// channel it comes from (the phone menu, the web chat, Telegram): a text message flagged with
// normalize.Message.Callback, holding the number to call in E.164 form and the time the
// player would like, with the same said in words after Prefix for helpdesks that show only
// text. Channels build it with New and Mark; the router raises the conversation's priority
// on the flag, not on the words.
package callback

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors/phone"
	"github.com/casino-support/gateway/normalize"
)

// Prefix starts the text of every call-back request. The request travels as a text message
// (not an event), because it is something an agent must answer: the first-response clock
// starts on it as on any player's words, and every helpdesk shows it as it shows text.
const Prefix = "[call-back request]"

// MaxPreferredTime is the most characters of the player's preferred time a request keeps:
// room for "weekdays after 6 pm, or Saturday morning", not for a letter.
const MaxPreferredTime = 100

// ErrInvalidPhone is wrapped by New's error when the number is no phone number a call can
// reach; channels tell the player so in their language.
var ErrInvalidPhone = errors.New("callback: not a valid phone number")

// New returns the call-back request for a number as the player gave it and their preferred
// time. A number without an international prefix is read as one of region (an ISO 3166 code;
// empty accepts only "+…" numbers). The preferred time becomes one line of at most
// MaxPreferredTime characters, cut with "…" when longer.
func New(rawPhone, region, preferredTime string) (normalize.Callback, error) {
	e164, err := phone.E164(rawPhone, region)
	if err != nil {
		return normalize.Callback{}, fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	return normalize.Callback{Phone: e164, PreferredTime: oneLine(preferredTime)}, nil
}

// Mark makes m, an inbound message of the player, the call-back request cb: a text message
// with the flag and the request in words. via says where the player asked, as it reads after
// "they asked for it in" ("the web chat", "the phone menu of +4930123456").
func Mark(m *normalize.Message, cb normalize.Callback, via string) {
	m.Kind = normalize.KindText
	m.Callback = &cb
	m.Text = Text(cb, via)
}

// Text is the request in words, as agents read it in any helpdesk.
func Text(cb normalize.Callback, via string) string {
	s := fmt.Sprintf("%s Please call %s back (they asked for it in %s).", Prefix, cb.Phone, via)
	if cb.Phone == "" {
		s = fmt.Sprintf("%s They asked to be called back in %s, but their number is hidden: ask them for it on another channel.", Prefix, via)
	}
	if cb.PreferredTime != "" {
		s += " Preferred time: " + cb.PreferredTime
	}
	return s
}

// oneLine cleans the player's words of what nobody types on purpose, joins their lines and
// cuts them to MaxPreferredTime characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(normalize.CleanText(s)), " ")
	if utf8.RuneCountInString(s) <= MaxPreferredTime {
		return s
	}
	return string([]rune(s)[:MaxPreferredTime-1]) + "…"
}
