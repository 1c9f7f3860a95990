package hdkit

import (
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// What a backend writes about a player and a message, the same in every helpdesk.

// PlayerEmail is the player's e-mail address when the channel knows it (Player.Email, or the
// address of an e-mail conversation), lower-cased; "" otherwise. A backend never makes one
// up: an address that could receive mail would send helpdesk mail to a stranger.
func PlayerEmail(conv normalize.Conversation) string {
	if a, err := mail.ParseAddress(conv.Player.Email); err == nil {
		return strings.ToLower(a.Address)
	}
	if conv.ChannelKind == normalize.KindEmail {
		if a, err := mail.ParseAddress(string(conv.Address)); err == nil {
			return strings.ToLower(a.Address)
		}
	}
	return ""
}

// PlayerName is the player's display name, else "Player on <channel>".
func PlayerName(conv normalize.Conversation) string {
	if n := strings.TrimSpace(conv.Player.DisplayName); n != "" {
		return n
	}
	return "Player on " + string(conv.Channel)
}

// Subject is a ticket's subject from its first message: the e-mail subject, else the first
// line, capped at maxRunes, or "Message from <channel>" for a message without text or from
// the gateway itself.
func Subject(conv normalize.Conversation, first normalize.Message, maxRunes int) string {
	generic := "Message from " + string(conv.Channel)
	if first.Kind == normalize.KindSystem {
		return generic
	}
	text := first.Text
	if s := strings.TrimSpace(first.Subject); s != "" {
		text = s
	}
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return generic
	}
	if utf8.RuneCountInString(line) > maxRunes {
		line = string([]rune(line)[:maxRunes-1]) + "…"
	}
	return line
}

// Body is the text a message shows in the helpdesk: its text, a shared location as a line,
// or a count of its files when it has nothing else.
func Body(m normalize.Message) string {
	text := m.Text
	if m.Location != nil {
		text = strings.TrimSpace(text + fmt.Sprintf("\nLocation: %.6f,%.6f", m.Location.Latitude, m.Location.Longitude))
	}
	if text == "" && len(m.Attachments) > 0 {
		text = fmt.Sprintf("(%d attachment(s))", len(m.Attachments))
	}
	return text
}

// Tags are the configured tags and the conversation's, with its channel kind, language and
// VIP tier as tags (channel_<kind>, lang_<language>, vip_<tier>), each made a valid tag of
// the helpdesk by part ("" drops it), sorted and without repeats.
func Tags(configured []string, conv normalize.Conversation, first normalize.Message, part func(string) string) []string {
	tags := slices.Clone(configured)
	tags = append(tags, "channel_"+part(string(conv.ChannelKind)))
	if conv.Language != "" {
		tags = append(tags, "lang_"+part(conv.Language))
	}
	if tier := max(conv.Player.VIPTier, first.Author.VIPTier); tier > 0 {
		tags = append(tags, "vip_"+strconv.Itoa(tier))
	}
	for _, t := range conv.Tags {
		if t = part(t); t != "" {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// TicketID is the remote's numeric ID in a conversation's ticket reference, 0 when there is
// none yet. A reference that is not a positive number was never written by this backend, so
// the error is permanent; it reads "<what>: ticket reference "x" is not a <kind> id".
func TicketID(ref normalize.Ref, what, kind string) (int64, error) {
	if ref == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(ref), 10, 64)
	if err != nil || n <= 0 {
		return 0, connectors.Permanent(fmt.Errorf("%s: ticket reference %q is not a %s id", what, ref, kind))
	}
	return n, nil
}
