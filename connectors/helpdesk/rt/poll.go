package rt

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Run polls the transactions of the gateway's tickets every PollInterval and delivers
// agents' correspondence to sink until ctx ends. It returns an error only when RT refuses
// the token.
//
// The set of tickets and the last transaction seen on each live in memory. On start the set
// is seeded with the queue's active tickets the gateway created, from their first
// transaction: replies made while the gateway was down are not lost, and replies delivered
// before are delivered again, which the store's dedup on (instance, "txn-<id>") drops.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	seeded := false
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	for {
		if !seeded {
			if err := h.seed(ctx); err != nil {
				if isAuth(err) {
					return fmt.Errorf("rt %s: %w", h.name, err)
				}
				if ctx.Err() == nil {
					h.log.WarnContext(ctx, "rt: seeding the poller failed", "helpdesk", h.name, "err", err)
				}
			} else {
				seeded = true
			}
		}
		if err := h.pollOnce(ctx, sink); err != nil && isAuth(err) {
			return fmt.Errorf("rt %s: %w", h.name, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// seed adds the active tickets the gateway created in the queue to the poller's set.
func (h *Helpdesk) seed(ctx context.Context) error {
	query := fmt.Sprintf("Queue = '%s' AND Creator = '%s' AND Status = '__Active__'", sqlQuote(h.cfg.Queue), sqlQuote(h.cfg.GatewayUser))
	ids, err := h.rt.searchTickets(ctx, query)
	if err != nil {
		return fmt.Errorf("rt: search the gateway's tickets: %w", err)
	}
	for _, id := range ids {
		h.poller.track(id, "")
	}
	return nil
}

// pollOnce polls every tracked ticket once; failures of one ticket are logged and retried
// on the next poll, except an auth failure, which is returned.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	h.poller.mu.Lock()
	tickets := make([]int, 0, len(h.poller.tickets))
	for id := range h.poller.tickets {
		tickets = append(tickets, id)
	}
	h.poller.mu.Unlock()
	slices.Sort(tickets)
	for _, ticket := range tickets {
		if ctx.Err() != nil {
			return nil
		}
		if err := h.pollTicket(ctx, sink, ticket); err != nil {
			if isAuth(err) {
				return err
			}
			if ctx.Err() == nil {
				h.log.WarnContext(ctx, "rt: poll failed", "helpdesk", h.name, "ticket", ticket, "err", err)
			}
		}
	}
	return nil
}

// pollTicket delivers the new agent replies of one ticket, then remembers its last
// transaction. Nothing is remembered when delivery fails, so the next poll retries.
func (h *Helpdesk) pollTicket(ctx context.Context, sink connectors.Sink, ticket int) error {
	h.poller.mu.Lock()
	st := h.poller.tickets[ticket]
	last, requestors := st.lastTxn, st.requestors
	h.poller.mu.Unlock()

	txns, err := h.rt.transactions(ctx, ticket, last, "")
	if err != nil {
		return fmt.Errorf("rt: transactions of ticket %d: %w", ticket, err)
	}
	if len(txns) == 0 {
		return nil
	}
	if requestors == nil {
		if requestors, err = h.rt.ticketRequestors(ctx, ticket); err != nil {
			return fmt.Errorf("rt: requestors of ticket %d: %w", ticket, err)
		}
	}
	var msgs []normalize.Message
	newLast := last
	for _, t := range txns {
		id := t.ID.int()
		newLast = max(newLast, id)
		m, ok, err := h.reply(ctx, ticket, t, requestors)
		if err != nil {
			return err
		}
		if ok {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) > 0 {
		if err := sink.Deliver(ctx, msgs...); err != nil {
			return fmt.Errorf("rt: deliver replies of ticket %d: %w", ticket, err)
		}
	}
	h.poller.mu.Lock()
	st.lastTxn, st.requestors = newLast, requestors
	h.poller.mu.Unlock()
	return nil
}

// reply turns one transaction into an outbound message when it is an agent's
// correspondence. Skipped: the gateway's own transactions (the players' messages it
// posted), correspondence by a requestor (a player writing to RT directly), comments (RT's
// internal notes are for agents only and are not passed on) and everything else. A status
// change by an agent becomes a status message, which the store applies to the conversation.
func (h *Helpdesk) reply(ctx context.Context, ticket int, t txn, requestors []string) (normalize.Message, bool, error) {
	if h.isGateway(t.Creator) {
		return normalize.Message{}, false, nil
	}
	switch t.Type {
	case "Correspond":
	case "Status":
		st, ok := conversationStatus(string(t.NewValue))
		if !ok || t.Creator.Name == "RT_System" { // RT's own new→open on the first reply is no decision
			return normalize.Message{}, false, nil
		}
		h.log.InfoContext(ctx, "rt: ticket status changed in RT", "helpdesk", h.name, "ticket", ticket,
			"rt_status", string(t.NewValue), "status", st, "by", t.Creator.Name)
		return normalize.Message{Direction: normalize.Outbound, Source: h.name, ExternalID: normalize.ExternalID(fmt.Sprintf("txn-%d", t.ID.int())),
			Ticket: normalize.Ref(strconv.Itoa(ticket)), Kind: normalize.KindSystem, Status: st,
			Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: t.Creator.Name, ExternalID: t.Creator.Name},
			Text:   fmt.Sprintf("Ticket %s in Request Tracker by %s.", t.NewValue, t.Creator.Name)}, true, nil
	default:
		return normalize.Message{}, false, nil
	}
	if slices.Contains(requestors, strings.ToLower(t.Creator.EmailAddress)) {
		return normalize.Message{}, false, nil
	}
	id := t.ID.int()
	text, err := h.rt.txnText(ctx, id)
	if err != nil {
		return normalize.Message{}, false, fmt.Errorf("rt: content of transaction %d on ticket %d: %w", id, ticket, err)
	}
	if len(markers(text)) > 0 { // posted by the gateway under another user name
		return normalize.Message{}, false, nil
	}
	names, err := h.rt.attachmentNames(ctx, id)
	if err != nil {
		return normalize.Message{}, false, fmt.Errorf("rt: attachments of transaction %d on ticket %d: %w", id, ticket, err)
	}
	text = strings.TrimSpace(text)
	for _, n := range names { // agents' files are not downloaded yet; say they exist
		text = strings.TrimSpace(text + "\n[attachment in RT: " + n + "]")
	}
	display := t.Creator.RealName
	if display == "" {
		display = t.Creator.Name
	}
	sent, _ := time.Parse(time.RFC3339, t.Created)
	return normalize.Message{
		Direction:  normalize.Outbound,
		Source:     h.name,
		ExternalID: normalize.ExternalID("txn-" + strconv.Itoa(id)),
		Ticket:     normalize.Ref(strconv.Itoa(ticket)),
		Author:     normalize.Author{Role: normalize.RoleAgent, DisplayName: display, ExternalID: t.Creator.Name},
		Kind:       normalize.KindText,
		Text:       text,
		SentAt:     sent,
	}, true, nil
}
