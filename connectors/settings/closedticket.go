package settings

// ClosedTicket is the closed_ticket key every helpdesk's settings can hold (as a field
// ClosedTicket of this type, tagged yaml:"closed_ticket", with ClosedTicketPolicy): what
// a player's message does after the helpdesk closed (solved, resolved) the conversation's
// ticket (issue 18). The gateway collects the helpdesks that reopen for the store, which moves
// the closed ticket of every other one aside so that the next post opens a follow-up.
type ClosedTicket string

const (
	// ClosedFollowUp, the default, opens a new ticket linked to the closed one: agents see the
	// new request apart from the solved one, with its history a click away.
	ClosedFollowUp ClosedTicket = "follow_up"
	// ClosedReopen appends the message to the closed ticket, which the helpdesk reopens (the
	// built-in inbox does this by nature: its tickets are the gateway's conversations).
	ClosedReopen ClosedTicket = "reopen"
)

// Reopens reports whether a player's message reopens the closed ticket; "" is the default,
// follow_up.
func (c ClosedTicket) Reopens() bool { return c == ClosedReopen }

// Check reports a value other than follow_up, reopen or empty (the default) under key.
func (c ClosedTicket) Check(p *Problems, key string) {
	if c != "" && c != ClosedFollowUp && c != ClosedReopen {
		p.Addf(key, "want %s or %s, got %s", ClosedFollowUp, ClosedReopen, Quote(string(c)))
	}
}

// ClosedTicketPolicy is implemented by the settings of helpdesks that hold closed_ticket.
type ClosedTicketPolicy interface {
	ClosedTicketPolicy() ClosedTicket
}
