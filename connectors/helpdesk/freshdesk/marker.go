package freshdesk

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// Freshdesk keys no ticket or note by the caller's ID, so the gateway writes markers into
// what it posts: the ticket's description names the conversation, and every description or
// note ends with the gateway's message ID. A retry finds them there before it writes again,
// and an event shows the gateway its own note by its marker.

var (
	messageMarker = regexp.MustCompile(`\[gateway-message-id: ([A-Za-z0-9._-]+)\]`)
	// markerAtEnd matches a message marker that ends a body, after at most closing tags.
	markerAtEnd = regexp.MustCompile(`\[gateway-message-id: ([A-Za-z0-9._-]+)\]\s*(?:</[a-zA-Z]+>\s*)*$`)
	convMarker  = regexp.MustCompile(`\[gateway-conversation: ([^\]<>\s]+)\]`)
)

func marker(id normalize.MessageID) string { return fmt.Sprintf("[gateway-message-id: %s]", id) }

func conversationMarker(key string) string { return fmt.Sprintf("[gateway-conversation: %s]", key) }

// htmlBody is text as Freshdesk's HTML body: escaped, lines kept, with the extra marker lines
// (the conversation's, then the message's) as paragraphs of their own at the end.
func htmlBody(text string, markers ...string) string {
	var b strings.Builder
	if text = strings.TrimSpace(text); text != "" {
		b.WriteString("<div>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(text), "\n", "<br>"))
		b.WriteString("</div>")
	}
	for _, m := range markers {
		b.WriteString("<div>")
		b.WriteString(html.EscapeString(m))
		b.WriteString("</div>")
	}
	return b.String()
}

// markedID returns the message ID a body the gateway posted ends with. A marker anywhere
// else is an agent quoting the player, and that reply must still go out.
func markedID(body string) (normalize.MessageID, bool) {
	m := markerAtEnd.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return normalize.MessageID(m[1]), true
}

// markedConversation returns the conversation key a description names: the last conversation
// marker, the one the gateway wrote after the player's words.
func markedConversation(description string) (string, bool) {
	all := convMarker.FindAllStringSubmatch(description, -1)
	if len(all) == 0 {
		return "", false
	}
	return html.UnescapeString(all[len(all)-1][1]), true
}

// conversationsPage is the page size of a ticket's conversations (Freshdesk's maximum).
const conversationsPage = 100

// conversations reads every page of a ticket's conversations, oldest first.
func (h *Helpdesk) conversations(ctx context.Context, ticket int64) ([]conversation, error) {
	var out []conversation
	next := fmt.Sprintf("/api/v2/tickets/%d/conversations?per_page=%d", ticket, conversationsPage)
	for next != "" {
		var page []conversation
		hdr, err := h.api.do(ctx, http.MethodGet, next, nil, &page)
		if err != nil {
			return nil, fmt.Errorf("freshdesk: conversations of ticket %d: %w", ticket, err)
		}
		out = append(out, page...)
		next = nextPage(hdr)
	}
	return out, nil
}

// postedMessages returns the gateway messages found on a ticket, by marker, with their
// external IDs: the description's and those of the notes.
func (h *Helpdesk) postedMessages(ctx context.Context, t ticket) (map[normalize.MessageID]normalize.ExternalID, error) {
	out := map[normalize.MessageID]normalize.ExternalID{}
	if id, ok := markedID(t.Description); ok {
		out[id] = descriptionID(t.ID)
	}
	convs, err := h.conversations(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range convs {
		if id, ok := markedID(c.Body); ok {
			out[id] = normalize.ExternalID(itoa(c.ID))
		}
	}
	return out, nil
}

// descriptionID is the external ID of the message that opened ticket: its description has no
// conversation ID of its own.
func descriptionID(ticket int64) normalize.ExternalID {
	return normalize.ExternalID("ticket-" + itoa(ticket))
}
