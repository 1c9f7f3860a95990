package rt

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// The look-ups below run only for messages whose earlier attempt may have reached RT, after
// the settle delay: a REST2 request in flight when the gateway died can still commit inside
// RT after the restart, so looking too early would miss it and double the message.

// postTypes are the transaction types of what Post writes.
var postTypes = []string{"Create", "Correspond", "Comment"}

// postedMessages returns the message IDs marked in the gateway's own Create, Correspond and
// Comment (Updates) transactions of ticket, with their transaction ids.
func (h *Helpdesk) postedMessages(ctx context.Context, ticket int) (map[normalize.MessageID]int, error) {
	txns, err := h.rt.transactions(ctx, ticket, 0, "")
	if err != nil {
		return nil, fmt.Errorf("rt: history of ticket %d: %w", ticket, err)
	}
	found := map[normalize.MessageID]int{}
	for _, t := range txns {
		if !slices.Contains(postTypes, t.Type) || !h.isGateway(t.Creator) {
			continue
		}
		text, err := h.rt.txnText(ctx, t.ID.int())
		if err != nil {
			return nil, fmt.Errorf("rt: history of ticket %d: transaction %s: %w", ticket, t.ID, err)
		}
		for _, id := range hdkit.Markers(text) {
			found[id] = t.ID.int()
		}
	}
	return found, nil
}

// findTicket returns the ticket whose Create transaction carries the marker of first, or 0.
// RT 5.0.3 without a full-text index cannot search content, so the candidates are the
// gateway's tickets in the queue with this requestor, newest first.
func (h *Helpdesk) findTicket(ctx context.Context, requestor string, first normalize.MessageID) (int, error) {
	query := fmt.Sprintf("Queue = '%s' AND Requestor.EmailAddress = '%s' AND Creator = '%s'",
		sqlQuote(h.cfg.Queue), sqlQuote(requestor), sqlQuote(h.cfg.GatewayUser))
	candidates, err := h.rt.searchTickets(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("rt: search tickets of %s: %w", requestor, err)
	}
	for _, ticket := range candidates {
		creates, err := h.rt.transactions(ctx, ticket, 0, "Create")
		if err != nil {
			return 0, fmt.Errorf("rt: history of ticket %d: %w", ticket, err)
		}
		for _, t := range creates {
			text, err := h.rt.txnText(ctx, t.ID.int())
			if err != nil {
				return 0, fmt.Errorf("rt: history of ticket %d: transaction %s: %w", ticket, t.ID, err)
			}
			for _, id := range hdkit.Markers(text) {
				if id == first {
					return ticket, nil
				}
			}
		}
	}
	return 0, nil
}

// isGateway reports whether u is the gateway's own RT user.
func (h *Helpdesk) isGateway(u user) bool {
	return strings.EqualFold(u.Name, h.cfg.GatewayUser) || strings.EqualFold(string(u.ID), h.cfg.GatewayUser)
}

// sqlQuote escapes a TicketSQL string literal.
func sqlQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
