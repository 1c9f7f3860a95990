package rt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// nobody is the RT user that owns unowned tickets.
const nobody = "Nobody"

// message turns one polled transaction into an outbound message: an agent's correspondence
// into a reply, a status change into a status message and an owner change into an
// assignment (the store applies both; the player is sent nothing). Passed over (ok false):
// the gateway's own transactions (the players' messages it posted), RT's own (new→open on
// the first reply is no decision), correspondence by a requestor (a player writing to RT
// directly) or by anyone who is not staff, and everything else.
func (h *Helpdesk) message(ctx context.Context, t txn) (normalize.Message, bool, error) {
	if h.isGateway(t.Creator) || t.Creator.Name == "RT_System" {
		return normalize.Message{}, false, nil
	}
	switch {
	case t.Type == "Correspond":
		return h.reply(ctx, t)
	case t.Type == "Status":
		return h.statusChange(ctx, t)
	case t.Type == "Set" && t.Field == "Owner":
		return h.assignment(ctx, t)
	}
	return normalize.Message{}, false, nil
}

// system is the outbound system message of transaction t, by its creator. Players see the
// author's DisplayName above a reply, so it is the RT user's real name only, never the user
// name (a sign-in name such as "root"); without one the chat shows its own title. The user
// name stays in ExternalID.
func (h *Helpdesk) system(t txn, text string) normalize.Message {
	sent, _ := time.Parse(time.RFC3339, t.Created)
	return normalize.Message{Direction: normalize.Outbound, Source: h.name, ExternalID: txnExternalID(t),
		Ticket: normalize.Ref(t.Ticket), Kind: normalize.KindSystem, Text: text, SentAt: sent,
		Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: t.Creator.RealName, ExternalID: t.Creator.Name}}
}

func txnExternalID(t txn) normalize.ExternalID {
	return normalize.ExternalID("txn-" + strconv.Itoa(t.ID.int()))
}

// displayName is a user's real name, or its user name when it has none: for the thread's
// own texts, which only agents see.
func displayName(u user) string {
	if u.RealName != "" {
		return u.RealName
	}
	return u.Name
}

// statusChange maps a status change; statuses of custom lifecycles are passed over.
func (h *Helpdesk) statusChange(ctx context.Context, t txn) (normalize.Message, bool, error) {
	st, ok := conversationStatus(string(t.NewValue))
	if !ok {
		return normalize.Message{}, false, nil
	}
	h.log.InfoContext(ctx, "rt: ticket status changed in RT", "helpdesk", h.name, "ticket", t.Ticket,
		"rt_status", string(t.NewValue), "status", st, "by", t.Creator.Name)
	m := h.system(t, fmt.Sprintf("Ticket %s in Request Tracker by %s.", t.NewValue, t.Creator.Name))
	m.Status = st
	return m, true, nil
}

// assignment maps an owner change. RT records the owner as a user id, so the user is looked
// up (once per user); the owner Nobody unassigns the conversation.
func (h *Helpdesk) assignment(ctx context.Context, t txn) (normalize.Message, bool, error) {
	owner, err := h.userOf(ctx, t.NewValue.int())
	if err != nil {
		return normalize.Message{}, false, fmt.Errorf("rt: new owner %s of ticket %s: %w", t.NewValue, t.Ticket, err)
	}
	agent := normalize.Agent{}
	text := fmt.Sprintf("Ticket unassigned in Request Tracker by %s.", displayName(t.Creator))
	if owner.Name != "" && owner.Name != nobody {
		agent = normalize.Agent{ID: owner.Name, Name: owner.RealName}
		text = fmt.Sprintf("Ticket assigned to %s in Request Tracker by %s.", displayName(owner), displayName(t.Creator))
	}
	h.log.InfoContext(ctx, "rt: ticket owner changed in RT", "helpdesk", h.name, "ticket", t.Ticket, "owner", agent.ID, "by", t.Creator.Name)
	m := h.system(t, text)
	m.Assignee = &agent
	return m, true, nil
}

// userOf returns the RT user with the numeric id, remembered: owners are few.
func (h *Helpdesk) userOf(ctx context.Context, id int) (user, error) {
	if id <= 0 {
		return user{}, nil
	}
	return h.poller.users.get(ctx, id, h.rt.user)
}

// reply maps an agent's correspondence to a reply with its text and files (see files).
// A file that cannot be sent adds a line naming it instead; an error while fetching the
// text or a file is returned, so the next poll handles the transaction again.
func (h *Helpdesk) reply(ctx context.Context, t txn) (normalize.Message, bool, error) {
	ticket, id := t.Ticket.int(), t.ID.int()
	requestors, err := h.requestorsOf(ctx, ticket)
	if err != nil {
		return normalize.Message{}, false, err
	}
	if slices.Contains(requestors, strings.ToLower(t.Creator.EmailAddress)) {
		return normalize.Message{}, false, nil
	}
	staff, err := h.isStaff(ctx, t.Creator.Name)
	if err != nil {
		return normalize.Message{}, false, err
	}
	if !staff {
		// A Cc'd payment provider or any outsider mailing the ticket is not the casino's
		// agent: their words must not reach the player as support's answer.
		h.log.WarnContext(ctx, "rt: correspondence by a user who is not privileged in RT (not staff); not sent to the player",
			"helpdesk", h.name, "ticket", ticket, "txn", id, "by", t.Creator.Name)
		return normalize.Message{}, false, nil
	}
	text, parts, err := h.rt.txnContent(ctx, id)
	if err != nil {
		return normalize.Message{}, false, fmt.Errorf("rt: content of transaction %d on ticket %d: %w", id, ticket, err)
	}
	if _, own := hdkit.MarkedID(text); own { // posted by the gateway under another user name
		// Logged so that a reply that never reached a player can be traced to this check.
		h.log.InfoContext(ctx, "rt: correspondence passed over as the gateway's own: it ends with a marker line",
			"helpdesk", h.name, "ticket", ticket, "txn", id, "by", t.Creator.Name)
		return normalize.Message{}, false, nil
	}
	atts, lines, err := h.files(ctx, t, parts)
	if err != nil {
		return normalize.Message{}, false, fmt.Errorf("rt: files of transaction %d on ticket %d: %w", id, ticket, err)
	}
	text = strings.TrimSpace(strings.Join(append([]string{strings.TrimSpace(text)}, lines...), "\n"))
	if text == "" && len(atts) == 0 {
		// Nothing a chat app could show; passing it on would only fail at the channel.
		h.log.WarnContext(ctx, "rt: an agent's correspondence has neither text nor files; not sent to the player",
			"helpdesk", h.name, "ticket", ticket, "txn", id)
		return normalize.Message{}, false, nil
	}
	m := h.system(t, text)
	m.Kind = replyKind(text, atts)
	m.Attachments = atts
	return m, true, nil
}

// isStaff reports whether the RT user with the name is privileged (staff), remembered. When
// RT will not say (it refuses the look-up or answers that the user is not found, as it does
// for a user the gateway may not see), the user counts as staff, as any non-requestor did
// before: a reply is not dropped for a look-up, and the requestor check has already kept the
// player's own mail out. Any other error is the transaction's, retried on the next poll.
func (h *Helpdesk) isStaff(ctx context.Context, name string) (bool, error) {
	staff, err := h.poller.staff.get(ctx, name, func(ctx context.Context, name string) (bool, error) {
		u, err := h.rt.userNamed(ctx, name)
		if isAuth(err) || errors.Is(err, connectors.ErrNotFound) {
			h.log.WarnContext(ctx, "rt: RT does not tell whether a correspondent is staff; counted as staff",
				"helpdesk", h.name, "user", name, "err", err)
			return true, nil
		}
		return u.Privileged == "1", err
	})
	if err != nil {
		return false, fmt.Errorf("rt: is %q staff: %w", name, err)
	}
	return staff, nil
}

// requestorsOf returns the requestors of a ticket, remembered: Post notes them for the
// tickets it writes to, and the poller looks up the others once.
func (h *Helpdesk) requestorsOf(ctx context.Context, ticket int) ([]string, error) {
	rs, err := h.poller.requestors.get(ctx, ticket, h.rt.ticketRequestors)
	if err != nil {
		return nil, fmt.Errorf("rt: requestors of ticket %d: %w", ticket, err)
	}
	return rs, nil
}
