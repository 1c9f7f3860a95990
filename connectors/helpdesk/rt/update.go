package rt

import (
	"context"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// priorityFields are the Update fields RT's priority is computed from. An Update that
// changes none of them (a language, a player ID) leaves the priority alone, so a priority
// an agent set by hand is overridden only when what it rests on changed.
var priorityFields = []normalize.Field{normalize.FieldPriority, normalize.FieldVIPTier, normalize.FieldSLA}

// applyUpdate applies an Update to the ticket: its priority (see rtPriority), then an
// internal comment with the Update's words and the marker, so agents see why and a retry
// finds it. A correspondence would be mailed to the requestor; the player wrote nothing.
//
// The comment comes last: once its marker is on the ticket the priority was set too, so a
// retry that finds the marker skips both, and one that does not redoes both (setting the
// same priority again changes nothing).
func (h *Helpdesk) applyUpdate(ctx context.Context, ticket int, m normalize.Message) error {
	u := m.Update
	if touchesPriority(u) {
		p := rtPriority(u.Priority, u.VIPTier, u.SLA.State() == normalize.SLABreached)
		if err := h.rt.setPriority(ctx, ticket, p); err != nil {
			return fmt.Errorf("rt: set priority of ticket %d for %s: %w", ticket, m.ID, err)
		}
		h.log.InfoContext(ctx, "rt: ticket priority set", "helpdesk", h.name, "conv", m.Conversation, "msg_id", m.ID,
			"ticket", ticket, "priority", p, "changed", u.Changed)
	}
	fields, err := h.content(ctx, m)
	if err != nil {
		return fmt.Errorf("rt: comment on ticket %d: %w", ticket, err)
	}
	if err := h.rt.comment(ctx, ticket, fields); err != nil {
		return fmt.Errorf("rt: comment on ticket %d: %w", ticket, err)
	}
	return nil
}

func touchesPriority(u *normalize.Update) bool {
	for _, f := range priorityFields {
		if u.Has(f) {
			return true
		}
	}
	return false
}
