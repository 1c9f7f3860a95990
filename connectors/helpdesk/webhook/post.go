package webhook

import (
	"context"
	"fmt"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Post opens the conversation at the operator when it has no ticket yet and sends msgs in
// order: a metadata update as conversation.updated, anything else as message.created. The
// idempotency keys ("open-<conversation>" and each message ID) are stable across retries, so
// the operator can answer a repeat with its first answer; Attempt is therefore not needed.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	ticket := conv.Ticket
	if len(msgs) == 0 {
		return ticket, nil, nil
	}
	if ticket == "" {
		var err error
		if ticket, err = h.open(ctx, conv, msgs[0].Message); err != nil {
			return "", nil, err
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		post := h.postMessage
		if d.Update != nil {
			post = h.postUpdate
		}
		id, err := post(ctx, conv, ticket, d.Message)
		if err != nil {
			return ticket, ids, err
		}
		ids = append(ids, id)
	}
	return ticket, ids, nil
}

// open sends conversation.opened; the operator answers with its ticket reference.
func (h *Helpdesk) open(ctx context.Context, conv normalize.Conversation, first normalize.Message) (normalize.Ref, error) {
	id := "open-" + string(conv.ID)
	if conv.FollowUpOf != "" {
		// A new idempotency key: under the first one the operator answers the closed ticket.
		id += "-after-" + string(conv.FollowUpOf)
	}
	c := conversationOf(conv, "", first)
	// Only the opening names the closed ticket: once the new one exists, events are about it.
	c.FollowUpOf = string(conv.FollowUpOf)
	ev := OutEvent{Event: EventConversationOpened, ID: id, CreatedAt: h.now().UTC(), Conversation: c}
	var ans OpenedAnswer
	if err := h.send(ctx, ev, &ans); err != nil {
		return "", fmt.Errorf("webhook %s: open conversation %s: %w", h.name, conv.ID, err)
	}
	if ans.Ticket == "" {
		// Retrying may help if the operator's system is mid-deploy; the key keeps it idempotent.
		return "", fmt.Errorf("webhook %s: open conversation %s: answer without ticket", h.name, conv.ID)
	}
	h.log.Debug("conversation opened", "conv", conv.ID, "ticket", ans.Ticket)
	return normalize.Ref(ans.Ticket), nil
}

// postMessage sends message.created; the operator's optional {"id"} becomes the external ID,
// else the message ID itself.
func (h *Helpdesk) postMessage(ctx context.Context, conv normalize.Conversation, ticket normalize.Ref, msg normalize.Message) (normalize.ExternalID, error) {
	m := h.messageOf(msg)
	ev := OutEvent{Event: EventMessageCreated, ID: string(msg.ID), CreatedAt: h.now().UTC(),
		Conversation: conversationOf(conv, ticket, msg), Message: &m}
	id, err := h.sendCreated(ctx, ev, msg)
	if err != nil {
		return "", fmt.Errorf("webhook %s: post message %s of %s: %w", h.name, msg.ID, conv.ID, err)
	}
	return id, nil
}

// postUpdate sends conversation.updated for a metadata update the gateway noticed; it is
// answered like message.created, since the update is a message in the conversation's lane.
func (h *Helpdesk) postUpdate(ctx context.Context, conv normalize.Conversation, ticket normalize.Ref, msg normalize.Message) (normalize.ExternalID, error) {
	ev := OutEvent{Event: EventConversationUpdated, ID: string(msg.ID), CreatedAt: h.now().UTC(),
		Conversation: conversationOf(conv, ticket, msg), Update: updateOf(msg.Update)}
	id, err := h.sendCreated(ctx, ev, msg)
	if err != nil {
		return "", fmt.Errorf("webhook %s: post update %s of %s: %w", h.name, msg.ID, conv.ID, err)
	}
	return id, nil
}

// sendCreated sends ev for msg; the operator's optional {"id"} becomes the external ID, else
// the message ID itself.
func (h *Helpdesk) sendCreated(ctx context.Context, ev OutEvent, msg normalize.Message) (normalize.ExternalID, error) {
	var ans CreatedAnswer
	if err := h.send(ctx, ev, &ans); err != nil {
		return "", err
	}
	if ans.ID == "" {
		return normalize.ExternalID(msg.ID), nil
	}
	return normalize.ExternalID(ans.ID), nil
}

func (h *Helpdesk) messageOf(msg normalize.Message) Message {
	atts := make([]Attachment, 0, len(msg.Attachments))
	for _, a := range msg.Attachments {
		atts = append(atts, Attachment{Name: a.Name, MediaType: a.MediaType, Size: a.Size, SHA256: a.SHA256, URL: h.attachmentURL(a.SHA256), ContentID: a.ContentID})
	}
	out := Message{
		ID: string(msg.ID), Kind: string(msg.Kind), Text: msg.Text, HTML: msg.HTML, Subject: msg.Subject,
		Author: Author{Role: string(msg.Author.Role), DisplayName: msg.Author.DisplayName},
		SentAt: msg.SentAt.UTC(), ReceivedAt: msg.ReceivedAt.UTC(), ReplyTo: string(msg.ReplyTo),
		Attachments: atts,
	}
	if cb := msg.Callback; cb != nil {
		out.Callback = &Callback{Phone: cb.Phone, PreferredTime: cb.PreferredTime}
	}
	return out
}
