package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Post opens the conversation at the operator when it has no ticket yet and sends msgs in
// order: a metadata update as conversation.updated, anything else as message.created, several
// at once as events.batch when batch_events allows it. The idempotency keys
// ("open-<conversation>" and each message ID) are stable across retries, so the operator can
// answer a repeat with its first answer; Attempt is therefore not needed.
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
	if h.cfg.BatchEvents <= 1 {
		ids, err := h.postAlone(ctx, conv, ticket, msgs)
		return ticket, ids, err
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for len(ids) < len(msgs) {
		// A batch the operator stored only a prefix of goes on with the rest, as the
		// one-event form goes on with the next message.
		got, err := h.postBatch(ctx, conv, ticket, msgs[len(ids):])
		ids = append(ids, got...)
		if err != nil {
			return ticket, ids, err
		}
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

// eventOf is the event that posts msg on ticket: conversation.updated for a metadata update
// the gateway noticed (answered like message.created, since the update is a message in the
// conversation's lane), message.created for anything else.
func (h *Helpdesk) eventOf(conv normalize.Conversation, ticket normalize.Ref, msg normalize.Message, now time.Time) OutEvent {
	ev := OutEvent{ID: string(msg.ID), CreatedAt: now, Conversation: conversationOf(conv, ticket, msg)}
	if msg.Update != nil {
		ev.Event, ev.Update = EventConversationUpdated, updateOf(msg.Update)
		return ev
	}
	m := h.messageOf(msg)
	ev.Event, ev.Message = EventMessageCreated, &m
	return ev
}

// postOne sends msg's event alone.
func (h *Helpdesk) postOne(ctx context.Context, conv normalize.Conversation, ticket normalize.Ref, msg normalize.Message) (normalize.ExternalID, error) {
	ev := h.eventOf(conv, ticket, msg, h.now().UTC())
	body, err := json.Marshal(ev)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("webhook %s: encode %s %s of %s: %w", h.name, ev.Event, msg.ID, conv.ID, err))
	}
	return h.postEncoded(ctx, conv, msg, ev.Event, body)
}

// postEncoded sends body, the encoded event of msg, alone.
func (h *Helpdesk) postEncoded(ctx context.Context, conv normalize.Conversation, msg normalize.Message, event string, body []byte) (normalize.ExternalID, error) {
	var ans CreatedAnswer
	if err := h.sendBody(ctx, event, string(msg.ID), body, &ans); err != nil {
		return "", fmt.Errorf("webhook %s: post %s %s of %s: %w", h.name, event, msg.ID, conv.ID, err)
	}
	return externalID(ans, msg), nil
}

// maxBatchBody caps an events.batch body, so an endpoint limiting bodies as the gateway's own
// hook does (1 MiB before the signature is checked) takes it; an event too large to share a
// request goes alone.
const maxBatchBody = 1 << 20

// postBatch sends the first of msgs, up to batch_events of them and maxBatchBody together, as
// one events.batch (a lone event as itself) and returns the external IDs of the prefix the
// operator stored: at least one, unless it returns an error. After a retryable error the
// gateway records none of the batch (the operator deduplicates each event on its ID, so the
// retry stores each once).
func (h *Helpdesk) postBatch(ctx context.Context, conv normalize.Conversation, ticket normalize.Ref, msgs []connectors.Delivery) ([]normalize.ExternalID, error) {
	now := h.now().UTC()
	msgs = msgs[:min(len(msgs), h.cfg.BatchEvents)]
	events := make([]json.RawMessage, 0, len(msgs))
	first := "" // the first event's name, for when it goes alone
	size := 256 // the envelope
	for _, d := range msgs {
		ev := h.eventOf(conv, ticket, d.Message, now)
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, connectors.Permanent(fmt.Errorf("webhook %s: encode message %s of %s: %w", h.name, d.ID, conv.ID, err))
		}
		if size += len(b) + 1; len(events) > 0 && size > maxBatchBody {
			break
		}
		if len(events) == 0 {
			first = ev.Event
		}
		events = append(events, b)
	}
	msgs = msgs[:len(events)]
	if len(msgs) == 1 {
		// Sent as itself, already encoded: at a steady rate most batches are one message.
		id, err := h.postEncoded(ctx, conv, msgs[0].Message, first, events[0])
		if err != nil {
			return nil, err
		}
		return []normalize.ExternalID{id}, nil
	}
	batch := OutBatch{Event: EventBatch, ID: batchID(msgs), CreatedAt: now, Events: events}
	body, err := encodeBatch(batch)
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("webhook %s: encode %s of %s: %w", h.name, batch.ID, conv.ID, err))
	}
	var ans BatchAnswer
	err = h.sendBody(ctx, EventBatch, batch.ID, body, &ans)
	if err != nil && !connectors.IsPermanent(err) {
		return nil, fmt.Errorf("webhook %s: post %d events of %s as %s: %w", h.name, len(msgs), conv.ID, batch.ID, err)
	}
	if err != nil || len(ans.Results) == 0 {
		// A refusal for good names no event, and a 2xx without results is what an endpoint
		// that does not know events.batch answers. Sent alone, the events meet the refusal at
		// the one the operator refuses, which alone is dead-lettered, and reach an endpoint
		// that knows only the one-event form; its deduplication makes the repeat harmless.
		h.log.Warn("operator refused a batch or answered no results; sending its events alone",
			"conv", conv.ID, "batch", batch.ID, "events", len(msgs), "err", err)
		return h.postAlone(ctx, conv, ticket, msgs)
	}
	ids := make([]normalize.ExternalID, min(len(ans.Results), len(msgs)))
	for i := range ids {
		ids[i] = externalID(ans.Results[i], msgs[i].Message)
	}
	if len(ids) < len(msgs) {
		h.log.Debug("operator stored a prefix of a batch", "conv", conv.ID, "batch", batch.ID, "stored", len(ids), "sent", len(msgs))
	}
	return ids, nil
}

// encodeBatch is json.Marshal(batch) without encoding its events again: encoding/json
// validates and compacts each json.RawMessage, which was a fifth of the gateway's JSON work
// in a batched burst (issue 16). The events are this package's own encodings.
func encodeBatch(batch OutBatch) ([]byte, error) {
	events := batch.Events
	batch.Events = []json.RawMessage{}
	env, err := json.Marshal(batch)
	if err != nil {
		return nil, err
	}
	// Events is the last field: the envelope ends with its empty array.
	head, ok := bytes.CutSuffix(env, []byte("[]}"))
	if !ok {
		return nil, fmt.Errorf("encode %s: unexpected envelope %q", batch.ID, env)
	}
	size := len(head) + 2
	for _, ev := range events {
		size += len(ev) + 1
	}
	body := append(make([]byte, 0, size), head...)
	body = append(body, '[')
	for i, ev := range events {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, ev...)
	}
	return append(body, ']', '}'), nil
}

// postAlone sends each of msgs in the one-event form and returns the external IDs of those
// posted before an error.
func (h *Helpdesk) postAlone(ctx context.Context, conv normalize.Conversation, ticket normalize.Ref, msgs []connectors.Delivery) ([]normalize.ExternalID, error) {
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		id, err := h.postOne(ctx, conv, ticket, d.Message)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// batchID is the events.batch ID of msgs: the same for the same events, so a retry of a batch
// carries the key of its first attempt, and another for any other set.
func batchID(msgs []connectors.Delivery) string {
	h := sha256.New()
	for _, d := range msgs {
		h.Write([]byte(d.ID))
		h.Write([]byte{0})
	}
	return "batch-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// externalID is the operator's optional {"id"} of msg, else the message ID itself.
func externalID(ans CreatedAnswer, msg normalize.Message) normalize.ExternalID {
	if ans.ID == "" {
		return normalize.ExternalID(msg.ID)
	}
	return normalize.ExternalID(ans.ID)
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
