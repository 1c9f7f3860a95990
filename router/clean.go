package router

import (
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/normalize"
)

// DefaultMaxText is the most characters of text a message keeps when its channel declares no
// limit of its own, and for agents' replies, which channels split as they need: far above
// what anyone types (64 KiB of characters holds a long e-mail thread), and far below what
// would slow the store, the inbox page or a helpdesk's API.
const DefaultMaxText = 64 << 10

// maxName is the most characters an author's or a file's name keeps; no real name comes near.
const maxName = 256

// cutNote ends a text that was cut. It says so where the agent reads the text, and never
// loses the whole message: what was kept is still a player's words.
const cutNote = "\n[message cut by the gateway: %d characters, over this channel's limit of %d]"

// cleaner makes what every channel and helpdesk delivers safe to store and show, once, at
// intake: normalize.CleanText and CleanName on the text, the names and the text of HTML
// mail (the HTML itself is kept as it came; helpdesks render it through their own
// sanitisers), and text over its channel's limit cut with a note.
type cleaner struct {
	limits map[normalize.ChannelKind]int
	def    int
	cut    *prometheus.CounterVec
	log    *slog.Logger
}

func newCleaner(limits map[normalize.ChannelKind]int, def int, reg prometheus.Registerer, log *slog.Logger) *cleaner {
	c := &cleaner{limits: limits, def: def, log: log,
		cut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_messages_cut_total",
			Help: "Messages whose text was cut at intake to their channel's limit, by source instance."}, []string{"instance"})}
	reg.MustRegister(c.cut)
	return c
}

// limit is the most characters of text a message may keep: its channel type's for a
// player's message, the default for anything else.
func (c *cleaner) limit(m normalize.Message) int {
	if m.Direction == normalize.Inbound {
		if n, ok := c.limits[m.ChannelKind]; ok && n > 0 {
			return n
		}
	}
	return c.def
}

// clean returns msgs cleaned. The caller's messages and their attachments are not changed.
func (c *cleaner) clean(msgs []normalize.Message) []normalize.Message {
	out := make([]normalize.Message, len(msgs))
	for i, m := range msgs {
		m.Text = normalize.CleanText(m.Text)
		if limit := c.limit(m); utf8.RuneCountInString(m.Text) > limit {
			n := utf8.RuneCountInString(m.Text)
			m.Text = cutText(m.Text, n, limit)
			c.cut.WithLabelValues(string(m.Source)).Inc()
			c.log.Warn("message text cut to the channel's limit", "source", m.Source, "external_id", m.ExternalID,
				"chars", n, "limit", limit)
		}
		m.Author.DisplayName = cutName(normalize.CleanName(m.Author.DisplayName))
		if len(m.Attachments) > 0 {
			m.Attachments = append([]normalize.Attachment(nil), m.Attachments...)
			for j := range m.Attachments {
				m.Attachments[j].Name = cutName(normalize.CleanName(m.Attachments[j].Name))
			}
		}
		if m.Assignee != nil {
			a := *m.Assignee
			a.Name = cutName(normalize.CleanName(a.Name))
			m.Assignee = &a
		}
		out[i] = m
	}
	return out
}

// cutText keeps the start of text, n characters long, so that it and the note fit in limit
// characters, cut at a character boundary. A limit too small for the note keeps limit
// characters and no note.
func cutText(text string, n, limit int) string {
	note := fmt.Sprintf(cutNote, n, limit)
	keep := limit - utf8.RuneCountInString(note)
	if keep < limit/2 {
		return prefix(text, limit)
	}
	return prefix(text, keep) + note
}

func cutName(s string) string {
	if utf8.RuneCountInString(s) <= maxName {
		return s
	}
	return prefix(s, maxName-1) + "…"
}

// prefix returns the first n characters of s.
func prefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
