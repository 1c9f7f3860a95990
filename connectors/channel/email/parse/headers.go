package parse

import (
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/casino-support/gateway/normalize"
)

// maxIDs bounds In-Reply-To and References: threading needs the root and the latest few, and
// a hostile header of a million IDs must not become a million lookups.
const maxIDs = 100

// readHeaders fills in what the top-level header says about the mail.
func readHeaders(m *Message, h textproto.Header, fallback string) {
	m.MessageID = firstID(h.Get("Message-Id"))
	m.InReplyTo = messageIDs(h.Get("In-Reply-To"))
	m.References = messageIDs(strings.Join(h.Values("References"), " "))
	if from := addressList(h.Get("From"), fallback); len(from) > 0 {
		m.From = from[0]
	} else if sender := addressList(h.Get("Sender"), fallback); len(sender) > 0 {
		m.From = sender[0]
	}
	m.ReplyTo = addressList(h.Get("Reply-To"), fallback)
	m.To = addressList(strings.Join(h.Values("To"), ", "), fallback)
	m.Cc = addressList(strings.Join(h.Values("Cc"), ", "), fallback)
	m.Subject = normalize.CleanName(headerValue(h.Get("Subject"), fallback))
	m.Date = parseDate(h.Get("Date"))
}

// headerCharset is the charset raw 8-bit header bytes are read in: the one the top-level
// Content-Type names, which the sending client most likely used for its header too.
func headerCharset(h textproto.Header) string {
	_, params := parseValue(h.Get("Content-Type"), fallbackCharset)
	if cs := params["charset"]; cs != "" {
		return cs
	}
	return fallbackCharset
}

// messageIDs returns the Message-IDs in v without angle brackets. IDs are taken from angle
// brackets where there are any (In-Reply-To may carry a comment such as "(Ana's message of
// Monday)"); otherwise each word is an ID, as some clients write them bare.
func messageIDs(v string) []string {
	var ids []string
	for {
		open := strings.IndexByte(v, '<')
		if open < 0 {
			break
		}
		end := strings.IndexByte(v[open+1:], '>')
		if end < 0 {
			break
		}
		if id := cleanID(v[open+1 : open+1+end]); id != "" {
			ids = append(ids, id)
		}
		v = v[open+1+end+1:]
	}
	if ids == nil {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
			if id := cleanID(f); id != "" && strings.Contains(id, "@") {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) > maxIDs {
		// Keep the thread's root and the newest: those are what threading looks up.
		ids = append(ids[:1], ids[len(ids)-maxIDs+1:]...)
	}
	return ids
}

func firstID(v string) string {
	if ids := messageIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// cleanID trims an ID and refuses one no mail system would write (whitespace or control
// characters inside, or a size no key should have).
func cleanID(id string) string {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	if id == "" || len(id) > 995 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' }) {
		return ""
	}
	return id
}

// dateLayouts are forms net/mail refuses that mail clients and servers still write.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon, 2 Jan 06 15:04:05 -0700",
	time.RFC3339,
}

// parseDate reads the Date header; the zero time when it is missing or unreadable.
func parseDate(v string) time.Time {
	v = strings.Join(strings.Fields(v), " ")
	if v == "" {
		return time.Time{}
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}
