package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/casino-support/gateway/normalize"
)

// maxPlayerIDRunes caps the list's player filter: the channels accept player IDs up to 128
// characters (webchat's maxPlayerIDLen), so anything longer matches nothing anyway.
const maxPlayerIDRunes = 128

// maxOtherConversations caps the thread's list of the player's other conversations, as the
// store caps what it tells a helpdesk (its maxLinked).
const maxOtherConversations = 20

// playerQuery reads the list's player parameter: an exact player ID, so only the spaces a
// pasted ID brings around it are dropped. An over-long one is cut to one rune more than any
// ID has, so it still matches nothing.
func playerQuery(raw string) string {
	p := strings.TrimSpace(raw)
	if utf8.RuneCountInString(p) > maxPlayerIDRunes {
		p = string([]rune(p)[:maxPlayerIDRunes+1])
	}
	return p
}

// otherView is another conversation of the thread's player. URL is empty for a conversation
// on another helpdesk, which this inbox's agents cannot open: Helpdesk and Ticket say where
// it is instead.
type otherView struct {
	ID          string
	URL         string
	ChannelKind string
	Channel     string
	Helpdesk    string
	Ticket      string
	Status      string
	LastAt      time.Time // zero when unknown (another helpdesk's conversation)
}

// otherConversations lists the other conversations of playerID but except: those of this
// inbox from its own rows, newest activity first, then those the store links to the player
// on other helpdesks, most recently linked first.
func (i *Inbox) otherConversations(ctx context.Context, playerID string, except normalize.ConversationID) ([]otherView, error) {
	if playerID == "" {
		return nil, nil
	}
	rows, err := i.db.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE player_id = ? AND conversation_id <> ? ORDER BY updated_at DESC, conversation_id LIMIT ?`,
		playerID, except, maxOtherConversations)
	if err != nil {
		return nil, fmt.Errorf("list conversations of player: %w", err)
	}
	defer rows.Close()
	var out []otherView
	seen := map[string]bool{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations of player: %w", err)
		}
		seen[string(t.Conv)] = true
		out = append(out, otherView{ID: string(t.Conv), URL: i.threadURL(t.Conv), ChannelKind: t.ChannelKind,
			Channel: t.Channel, Status: string(t.Status), LastAt: t.UpdatedAt})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations of player: %w", err)
	}
	linked, err := i.deps.Conversations.PlayerConversations(ctx, playerID, maxOtherConversations)
	if err != nil {
		return nil, fmt.Errorf("list conversations of player in the store: %w", err)
	}
	for _, lc := range linked {
		// This inbox's own conversations came from its rows above, with their last activity;
		// one it has no row for yet (not posted) has nothing to show.
		if lc.ID == except || lc.Helpdesk == i.name || seen[string(lc.ID)] || len(out) >= maxOtherConversations {
			continue
		}
		out = append(out, otherView{ID: string(lc.ID), ChannelKind: string(lc.ChannelKind), Channel: string(lc.Channel),
			Helpdesk: string(lc.Helpdesk), Ticket: string(lc.Ticket), Status: string(lc.Status)})
	}
	return out, nil
}

// playerListURL is the address of the list of every conversation of playerID.
func (i *Inbox) playerListURL(playerID string) string {
	return i.listURL(listQuery{Status: filterAll, Player: playerID})
}
