package webchat

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// wireMessage is what a page sees of a message: enough to render it and send receipts, and
// nothing internal (sources, tickets, the player's VIP tier, failure reasons).
type wireMessage struct {
	ID string `json:"id"`
	// ClientID is the page's own ID of a player message, so a page can match history against
	// its outbox and never show a message twice.
	ClientID    string           `json:"client_id,omitempty"`
	From        string           `json:"from"` // "player" or "agent"
	Author      string           `json:"author,omitempty"`
	Kind        string           `json:"kind"`
	Text        string           `json:"text,omitempty"`
	Attachments []wireAttachment `json:"attachments,omitempty"`
	SentAt      time.Time        `json:"sent_at"`
	State       string           `json:"state,omitempty"`
	// Callback is a call-back request of the player's: the page says it in the player's
	// language, so Text (the request in words for agents) is left out.
	Callback *wireCallback `json:"callback,omitempty"`
	// QuickReplies are a reply's answers the player can tap (the FAQ bot's); the page shows
	// them as buttons under the newest reply only, since an older one's were answered.
	QuickReplies []string `json:"quick_replies,omitempty"`
}

type wireCallback struct {
	Phone         string `json:"phone"`
	PreferredTime string `json:"preferred_time,omitempty"`
}

type wireAttachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	// URL is relative to the page's origin; the page adds its token.
	URL string `json:"url"`
}

// hidden reports what a player must never see: internal notes, and system messages (status
// changes, metadata updates such as a VIP tier, missed SLA targets), which the router never
// sends to a channel but which are in the stored thread.
func hidden(m normalize.Message) bool {
	return m.Kind == normalize.KindNote || m.Kind == normalize.KindSystem
}

// view turns a stored or outgoing message into its wire form. It returns false for what
// hidden keeps from the player.
func (c *Channel) view(m normalize.Message) (wireMessage, bool) {
	if hidden(m) {
		return wireMessage{}, false
	}
	w := wireMessage{ID: string(m.ID), Kind: string(m.Kind), Text: m.Text, SentAt: m.SentAt, State: string(m.State)}
	if w.SentAt.IsZero() {
		w.SentAt = m.ReceivedAt
	}
	if m.Callback != nil {
		w.Text, w.Callback = "", &wireCallback{Phone: m.Callback.Phone, PreferredTime: m.Callback.PreferredTime}
	}
	if m.Direction == normalize.Inbound {
		w.From = "player"
		if prefix := string(m.Address) + ":"; strings.HasPrefix(string(m.ExternalID), prefix) {
			w.ClientID = strings.TrimPrefix(string(m.ExternalID), prefix)
		}
	} else {
		w.From = "agent"
		// Helpdesks set DisplayName only to a name meant for players; without one the reply
		// comes from the chat itself, never from an agent's sign-in name.
		w.Author = cmp.Or(m.Author.DisplayName, c.cfg.Title)
		w.QuickReplies = m.QuickReplies
	}
	for i, a := range m.Attachments {
		w.Attachments = append(w.Attachments, wireAttachment{Name: a.Name, MediaType: a.MediaType, Size: a.Size,
			URL: fmt.Sprintf("%s/api/attachments/%s/%d", c.cfg.Path, m.ID, i)})
	}
	return w, true
}

// views returns the wire form of a thread, oldest first, without notes.
func (c *Channel) views(msgs []normalize.Message) []wireMessage {
	out := make([]wireMessage, 0, len(msgs))
	for _, m := range msgs {
		if w, ok := c.view(m); ok {
			out = append(out, w)
		}
	}
	return out
}
