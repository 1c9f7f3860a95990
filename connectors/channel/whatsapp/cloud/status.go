package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// status passes one status of a reply on to the router: delivered and read to ReceiptSink,
// failed to FailureSink (which tells the agents). A status names the reply by the wamid Send
// returned, found in what Send remembers or, after a restart, through SentSink. A reply the
// gateway never sent (one sent from WhatsApp Manager, or deleted by retention) is passed
// over; an error is for what a retry of the whole notification may cure.
func (c *Channel) status(ctx context.Context, sink connectors.Sink, s Status) error {
	var state normalize.DeliveryState
	switch s.Status {
	case "delivered":
		state = normalize.StateDelivered
	case "read":
		state = normalize.StateRead
	case "failed":
		state = normalize.StateFailed
	default: // sent (the router marked it so already), and whatever Meta adds later
		return nil
	}
	id, err := c.replyOf(ctx, sink, normalize.ExternalID(s.ID))
	if errors.Is(err, connectors.ErrNotFound) {
		c.log.Debug("whatsapp-cloud: status of a message the gateway did not send", "wamid", s.ID, "status", s.Status)
		return nil
	}
	if err != nil {
		return fmt.Errorf("whatsapp-cloud: status %s of %s: %w", s.Status, s.ID, err)
	}
	if state == normalize.StateFailed {
		fs, ok := sink.(connectors.FailureSink)
		if !ok {
			return nil
		}
		err = fs.DeliveryFailed(ctx, c.name, id, failReason(s.Errors))
	} else {
		rs, ok := sink.(connectors.ReceiptSink)
		if !ok {
			return nil
		}
		err = rs.Receipt(ctx, id, state)
	}
	if err != nil && !errors.Is(err, connectors.ErrNotFound) {
		return fmt.Errorf("whatsapp-cloud: status %s of %s: %w", s.Status, s.ID, err)
	}
	return nil
}

// replyOf returns the reply Send sent as wamid.
func (c *Channel) replyOf(ctx context.Context, sink connectors.Sink, wamid normalize.ExternalID) (normalize.MessageID, error) {
	if id, ok := c.sent.get(wamid); ok {
		return id, nil
	}
	ss, ok := sink.(connectors.SentSink)
	if !ok {
		return "", fmt.Errorf("the router cannot look up %s: %w", wamid, connectors.ErrNotFound)
	}
	return ss.SentReply(ctx, c.name, wamid)
}

// failReason says in words why WhatsApp did not deliver a reply, for the agents' note.
func failReason(errs []ErrorEntry) string {
	if len(errs) == 0 {
		return "WhatsApp reports the message failed, without a reason"
	}
	var parts []string
	for _, e := range errs {
		part := "WhatsApp error " + e.String()
		if e.Code == codeWindowClosed {
			part += " (the player's 24-hour customer-service window had closed: only a template message reaches them now)"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// sentIDs remembers which reply each wamid Send got belongs to, for statuses that arrive
// before the router recorded the delivery. It keeps the latest few thousand; older ones the
// router knows.
type sentIDs struct {
	mu   sync.Mutex
	ids  map[normalize.ExternalID]normalize.MessageID
	prev map[normalize.ExternalID]normalize.MessageID
}

const sentIDsKept = 4096

func (s *sentIDs) add(wamid normalize.ExternalID, id normalize.MessageID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil || len(s.ids) >= sentIDsKept {
		s.prev, s.ids = s.ids, map[normalize.ExternalID]normalize.MessageID{}
	}
	s.ids[wamid] = id
}

func (s *sentIDs) get(wamid normalize.ExternalID) (normalize.MessageID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[wamid]; ok {
		return id, true
	}
	id, ok := s.prev[wamid]
	return id, ok
}
