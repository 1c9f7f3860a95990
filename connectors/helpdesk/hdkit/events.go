package hdkit

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Kinds of a delivered event, as the backends' gateway_<type>_events_total count them.
const (
	EventReply      = "reply"      // an agent's public reply
	EventStatus     = "status"     // a status change
	EventAssignment = "assignment" // an assignee change
)

// EventKind is the kind of a delivered event m.
func EventKind(m normalize.Message) string {
	switch {
	case m.Status != "":
		return EventStatus
	case m.Assignee != nil:
		return EventAssignment
	default:
		return EventReply
	}
}

// DeliverEvents hands sink what agents did on one ticket, in order. An event the gateway
// refuses for good is logged and passed over, since retrying it would hold the ticket's
// later events back for ever; any other failure is returned, and the caller must read the
// ticket again (the store drops what got through twice). Each delivered event is logged and
// given to delivered, for the backend's metrics. what names the remote ("zendesk").
func DeliverEvents(ctx context.Context, sink connectors.Sink, log *slog.Logger, what string, instance normalize.InstanceName,
	conv normalize.ConversationID, ticket int64, msgs []normalize.Message, delivered func(normalize.Message)) error {
	settled, err := connectors.DeliverBatch(ctx, sink, msgs, func(i int, err error) error {
		if connectors.IsPermanent(err) {
			log.WarnContext(ctx, what+": the gateway refused an event for good; passing it over", "helpdesk", instance,
				"ticket", ticket, "external_id", msgs[i].ExternalID, "err", err)
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: deliver the events of ticket %d (%d of %d stored): %w", what, ticket, settled, len(msgs), err)
	}
	for _, m := range msgs {
		log.InfoContext(ctx, what+": event delivered", "helpdesk", instance, "conv", conv, "ticket", ticket,
			"external_id", m.ExternalID, "kind", m.Kind, "status", m.Status)
		delivered(m)
	}
	return nil
}
