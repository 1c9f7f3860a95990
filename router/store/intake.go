package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// NewConversation decides the settings of a conversation that the first inbound message opens:
// its helpdesk (the routing rules), priority and tags.
type NewConversation func(first normalize.Message) (helpdesk normalize.InstanceName, priority normalize.Priority, tags []string)

// Accepted reports what intake did with one message.
type Accepted struct {
	ID           normalize.MessageID
	Conversation normalize.ConversationID
	// Duplicate is true when the message was stored before (same source and external ID);
	// ID is then the stored message's ID.
	Duplicate bool
	// Opened is true when the message opened a new conversation.
	Opened bool
}

// Intake stores msgs and enqueues their delivery in one transaction, deduplicated on
// (Source, ExternalID). It returns only once the transaction is durable. Inbound messages
// find their conversation by (Channel, Address) or open one with open; outbound messages
// find theirs by Conversation or by (Source, Ticket). If any message cannot be accepted the
// whole call fails and nothing is stored; such errors wrap connectors.ErrPermanent.
func (s *Store) Intake(ctx context.Context, msgs []normalize.Message, open NewConversation) ([]Accepted, error) {
	for i := range msgs {
		if err := validate(&msgs[i]); err != nil {
			return nil, connectors.Permanent(fmt.Errorf("store: message %d: %w", i, err))
		}
	}
	var out []Accepted
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = make([]Accepted, 0, len(msgs))
		now := s.now()
		for _, m := range msgs {
			a, err := s.intakeOne(ctx, tx, m, open, now.UnixMilli())
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func validate(m *normalize.Message) error {
	switch {
	case m.Source == "":
		return errors.New("source is required")
	case m.ExternalID == "":
		return errors.New("external ID is required (it is the dedup key)")
	case m.Direction != normalize.Inbound && m.Direction != normalize.Outbound:
		return fmt.Errorf("direction %q is neither inbound nor outbound", m.Direction)
	case m.Direction == normalize.Inbound && (m.Channel == "" || m.Address == ""):
		return errors.New("inbound message needs channel and address")
	case m.Direction == normalize.Outbound && m.Conversation == "" && m.Ticket == "":
		return errors.New("outbound message needs a conversation or a ticket")
	case m.Status != "" && (m.Direction != normalize.Outbound || m.Kind != normalize.KindSystem):
		return errors.New("only an outbound system message changes a conversation's status")
	case m.Status != "" && m.Status != normalize.StatusOpen && m.Status != normalize.StatusPending && m.Status != normalize.StatusClosed:
		return fmt.Errorf("status %q is not open, pending or closed", m.Status)
	}
	if m.ID == "" {
		m.ID = normalize.NewMessageID()
	}
	if m.Kind == "" {
		m.Kind = normalize.KindText
	}
	return nil
}

func (s *Store) intakeOne(ctx context.Context, tx *wtx, m normalize.Message, open NewConversation, now int64) (Accepted, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO external_ids (instance, external_id, message_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		m.Source, m.ExternalID, m.ID)
	if err != nil {
		return Accepted{}, fmt.Errorf("store: record external ID: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		a := Accepted{Duplicate: true}
		err := tx.QueryRowContext(ctx, `SELECT e.message_id, COALESCE(m.conversation_id, '') FROM external_ids e LEFT JOIN messages m ON m.id = e.message_id
			WHERE e.instance = ? AND e.external_id = ?`, m.Source, m.ExternalID).Scan(&a.ID, &a.Conversation)
		if err != nil {
			return Accepted{}, fmt.Errorf("store: look up duplicate: %w", err)
		}
		return a, nil
	}
	a := Accepted{ID: m.ID}
	if m.Direction == normalize.Inbound {
		a.Conversation, a.Opened, err = s.inboundConversation(ctx, tx, m, open, now)
	} else {
		a.Conversation, err = outboundConversation(ctx, tx, m, now)
	}
	if err != nil {
		return Accepted{}, err
	}
	m.Conversation = a.Conversation
	if m.Direction == normalize.Outbound && m.Kind == normalize.KindSystem && m.Status != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?`, m.Status, now, a.Conversation); err != nil {
			return Accepted{}, fmt.Errorf("store: apply status of %s: %w", a.Conversation, err)
		}
	}
	if m.Direction == normalize.Outbound && m.ReplyTo != "" {
		if m.ReplyTo, err = channelReplyTo(ctx, tx, m.Source, m.ReplyTo); err != nil {
			return Accepted{}, err
		}
	}
	m.ReceivedAt = fromMillis(now)
	m.State = normalize.StateQueued
	body, err := json.Marshal(m)
	if err != nil {
		return Accepted{}, fmt.Errorf("store: encode message: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, direction, state, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, a.Conversation, m.Direction, normalize.StateQueued, body, now); err != nil {
		return Accepted{}, fmt.Errorf("store: insert message: %w", err)
	}
	// A lane waiting out a back-off keeps its due time; an idle lane becomes due now.
	if _, err := tx.ExecContext(ctx, `INSERT INTO lanes (conversation_id, direction, due_at) VALUES (?, ?, ?)
		ON CONFLICT (conversation_id, direction) DO UPDATE SET due_at = COALESCE(lanes.due_at, excluded.due_at)`,
		a.Conversation, m.Direction, now); err != nil {
		return Accepted{}, fmt.Errorf("store: enqueue: %w", err)
	}
	return a, nil
}

func (s *Store) inboundConversation(ctx context.Context, tx *wtx, m normalize.Message, open NewConversation, now int64) (normalize.ConversationID, bool, error) {
	var id normalize.ConversationID
	var status normalize.Status
	err := tx.QueryRowContext(ctx, `SELECT id, status FROM conversations WHERE channel = ? AND address = ?`, m.Channel, m.Address).Scan(&id, &status)
	switch {
	case err == nil:
		// A player writing again reopens the conversation; the ticket stays the same.
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ?, status = ?,
			language = CASE WHEN language = '' THEN ? ELSE language END WHERE id = ?`,
			now, normalize.StatusOpen, m.Author.Language, id); err != nil {
			return "", false, fmt.Errorf("store: touch conversation: %w", err)
		}
		return id, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", false, fmt.Errorf("store: find conversation: %w", err)
	}
	helpdesk, priority, tags := open(m)
	if helpdesk == "" {
		return "", false, connectors.Permanent(fmt.Errorf("store: no helpdesk for a new conversation on %s", m.Channel))
	}
	if priority == "" {
		priority = normalize.PriorityNormal
	}
	if tags == nil {
		tags = []string{}
	}
	tagsJSON, _ := json.Marshal(tags)
	player, _ := json.Marshal(m.Author)
	id = normalize.NewConversationID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, channel, channel_kind, address, helpdesk, status, priority, language, tags, player, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, m.Channel, m.ChannelKind, m.Address, helpdesk, normalize.StatusOpen, priority, m.Author.Language, tagsJSON, player, now, now); err != nil {
		return "", false, fmt.Errorf("store: insert conversation: %w", err)
	}
	return id, true, nil
}

func outboundConversation(ctx context.Context, tx *wtx, m normalize.Message, now int64) (normalize.ConversationID, error) {
	var id normalize.ConversationID
	var err error
	if m.Conversation != "" {
		err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE id = ? AND helpdesk = ?`, m.Conversation, m.Source).Scan(&id)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE helpdesk = ? AND ticket = ?`, m.Source, m.Ticket).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		notFound := fmt.Errorf("store: %w: conversation %q / ticket %q of %s", ErrNotFound, m.Conversation, m.Ticket, m.Source)
		if m.Conversation == "" {
			creating, cerr := ticketBeingCreated(ctx, tx, m.Source, now)
			if cerr != nil {
				return "", cerr
			}
			if creating {
				// Helpdesks fire auto-replies the moment a ticket exists, possibly before the
				// gateway recorded it: let the remote retry rather than lose the reply.
				return "", fmt.Errorf("%w (a ticket of %s is being created; retry)", notFound, m.Source)
			}
		}
		return "", connectors.Permanent(notFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: find conversation: %w", err)
	}
	return id, nil
}

// ticketBeingCreated reports whether a conversation of helpdesk without a ticket is leased
// for delivery right now, i.e. its ticket may exist remotely but not yet here.
func ticketBeingCreated(ctx context.Context, tx *wtx, helpdesk normalize.InstanceName, now int64) (bool, error) {
	var creating bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM conversations c JOIN lanes l ON l.conversation_id = c.id AND l.direction = 'inbound'
		WHERE c.helpdesk = ? AND c.ticket = '' AND l.lease_until > ?)`, helpdesk, now).Scan(&creating)
	if err != nil {
		return false, fmt.Errorf("store: check tickets being created: %w", err)
	}
	return creating, nil
}

// channelReplyTo translates the message an agent answered from the helpdesk's ID into the
// channel's, so the channel can thread the reply (Telegram's reply_to_message_id): a player's
// message is known to the channel by its source ID, an earlier agent reply by the ID the
// channel gave it. An answered message the channel never saw leaves the reply unthreaded.
func channelReplyTo(ctx context.Context, tx *wtx, helpdesk normalize.InstanceName, replyTo normalize.ExternalID) (normalize.ExternalID, error) {
	var dir normalize.Direction
	var target normalize.ExternalID
	var body []byte
	err := tx.QueryRowContext(ctx, `SELECT m.direction, m.target_id, m.body FROM external_ids e JOIN messages m ON m.id = e.message_id
		WHERE e.instance = ? AND e.external_id = ?`, helpdesk, replyTo).Scan(&dir, &target, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: resolve reply-to %s of %s: %w", replyTo, helpdesk, err)
	}
	if dir == normalize.Outbound {
		return target, nil
	}
	var answered normalize.Message
	if err := json.Unmarshal(body, &answered); err != nil {
		return "", fmt.Errorf("store: decode answered message: %w", err)
	}
	return answered.ExternalID, nil
}
