package rt

import (
	"fmt"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// playerNote is the line a new ticket's content starts with when the gateway knows who the
// player is (issue 17): RT has no field of its own for the casino's player ID, and an agent
// reading the ticket should see the player's other conversations without leaving it. A
// conversation on this RT is named by its ticket (#4711, which RT shows as a link in the
// history); one on another helpdesk by that helpdesk's name and reference. Empty for an
// anonymous player.
func playerNote(conv normalize.Conversation, self normalize.InstanceName) string {
	p := conv.Player
	if p.PlayerID == "" {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Player %s", p.PlayerID)
	if p.PlayerIDBy != "" {
		fmt.Fprintf(&b, " (identified by %s)", strings.ReplaceAll(p.PlayerIDBy, "_", " "))
	}
	if len(conv.Linked) == 0 {
		return b.String() + "."
	}
	b.WriteString(". Other conversations of this player:")
	for _, l := range conv.Linked {
		fmt.Fprintf(&b, "\n- %s on %s: ", l.ChannelKind, l.Channel)
		switch {
		case l.Ticket == "":
			b.WriteString("no ticket yet")
		case l.Helpdesk == self:
			fmt.Fprintf(&b, "ticket #%s", l.Ticket)
		default:
			fmt.Fprintf(&b, "%s ticket %s", l.Helpdesk, l.Ticket)
		}
		fmt.Fprintf(&b, " (%s)", l.Status)
	}
	return b.String()
}
