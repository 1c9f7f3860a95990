package inbox

import (
	"context"
	"fmt"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// ticketRef returns the ticket reference of a conversation in the inbox. It is derived from the
// conversation ID, so Post needs no lookup to answer and a retry answers the same.
func ticketRef(conv normalize.ConversationID) normalize.Ref {
	return normalize.Ref("IN-" + string(conv))
}

// externalID is the inbox's ID of a posted message; like Ref it is derived, not stored.
func externalID(id normalize.MessageID) normalize.ExternalID {
	return normalize.ExternalID("inbox:" + string(id))
}

// Post records conv's ticket row from the conversation and msgs. Content is not copied: the
// thread view reads it from the gateway store. Every value written is derived from conv and
// the messages' own times, never from the clock of this call, so a retried Post changes
// nothing more and Attempt is not needed.
func (i *Inbox) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	ref := ticketRef(conv.ID)
	if len(msgs) == 0 {
		return ref, nil, nil
	}
	if err := i.recordPost(ctx, conv, msgs); err != nil {
		return "", nil, fmt.Errorf("inbox %s: post to %s: %w", i.name, conv.ID, err)
	}
	ids := make([]normalize.ExternalID, len(msgs))
	for n, d := range msgs {
		ids[n] = externalID(d.ID)
	}
	i.changed(ctx, conv.ID)
	return ref, ids, nil
}

func (i *Inbox) recordPost(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) error {
	tx, err := i.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t, found, err := getTicket(ctx, tx, conv.ID)
	if err != nil {
		return err
	}
	if !found {
		t = newTicket(conv, msgTime(msgs[0].Message, i.now))
	}
	applyPost(&t, conv, msgs, i.now)
	if err := putTicket(ctx, tx, t); err != nil {
		return err
	}
	return tx.Commit()
}

// newTicket starts the row of a conversation posted for the first time.
func newTicket(conv normalize.Conversation, first time.Time) ticket {
	created := conv.CreatedAt
	if created.IsZero() || first.Before(created) {
		created = first
	}
	return ticket{Conv: conv.ID, Status: normalize.StatusOpen, StatusAt: created, CreatedAt: created, UpdatedAt: created}
}

// applyPost folds conv and msgs into t. A player message newer than the last answer (an agent
// reply or closing) waits for an answer, and one newer than closing reopens the ticket, as
// the gateway store reopens the conversation. The newest message a person wrote becomes the
// preview.
func applyPost(t *ticket, conv normalize.Conversation, msgs []connectors.Delivery, now func() time.Time) {
	t.Channel, t.ChannelKind = string(conv.Channel), string(conv.ChannelKind)
	player := conv.Player
	for _, d := range msgs {
		a := d.Author
		if player.DisplayName == "" {
			player.DisplayName = a.DisplayName
		}
		if player.Language == "" {
			player.Language = a.Language
		}
		if player.VIPTier == 0 {
			player.VIPTier = a.VIPTier
		}
		if player.PlayerID == "" && a.PlayerID != "" {
			player.PlayerID, player.PlayerIDBy = a.PlayerID, a.PlayerIDBy
		}
	}
	if player.DisplayName != "" {
		t.PlayerName = player.DisplayName
	}
	if lang := firstNonEmpty(conv.Language, player.Language); lang != "" {
		t.Language = lang
	}
	if player.VIPTier != 0 {
		t.VIPTier = player.VIPTier
	}
	if player.PlayerID != "" {
		// The store links a conversation to one player for good; the ID only ever arrives.
		t.PlayerID, t.LinkedBy = player.PlayerID, player.PlayerIDBy
	}
	for _, d := range msgs {
		at := msgTime(d.Message, now)
		t.LastPlayerAt = later(t.LastPlayerAt, at)
		t.UpdatedAt = later(t.UpdatedAt, at)
		if p, ok := previewOf(d.Message, at); ok {
			applyPreview(t, p)
		}
		if !needsAnswer(d.Message) || !at.After(t.AnsweredAt) {
			continue
		}
		if t.FirstUnansweredAt.IsZero() || at.Before(t.FirstUnansweredAt) {
			t.FirstUnansweredAt = at
		}
		if t.Status == normalize.StatusClosed && at.After(t.StatusAt) {
			t.Status, t.StatusAt = normalize.StatusOpen, at
		}
	}
}

// needsAnswer tells whether a player message starts the first-response clock: a reaction,
// an edit of something already waiting, or an event (a metadata update, a delivery failure)
// does not.
func needsAnswer(m normalize.Message) bool {
	if m.Direction != normalize.Inbound {
		return false
	}
	switch m.Kind {
	case normalize.KindReaction, normalize.KindEdit, normalize.KindDeletion, normalize.KindSystem:
		return false
	}
	return true
}

// msgTime is when the gateway received m, the one clock all messages share; the channel's own
// timestamp and finally now stand in for messages that lack it.
func msgTime(m normalize.Message, now func() time.Time) time.Time {
	switch {
	case !m.ReceivedAt.IsZero():
		return m.ReceivedAt.UTC().Truncate(time.Millisecond)
	case !m.SentAt.IsZero():
		return m.SentAt.UTC().Truncate(time.Millisecond)
	}
	return now().UTC().Truncate(time.Millisecond)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
