package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Assessment is what the routing policy says about one inbound message.
type Assessment struct {
	// Helpdesk takes the conversation the message opens; it never changes afterwards.
	Helpdesk normalize.InstanceName
	// Priority is what the message calls for: a new conversation starts with it, an open one
	// is raised to it but never lowered (an agent may have reasons the policy does not know).
	Priority normalize.Priority
	// Tags a new conversation starts with; an open one gains those it lacks.
	Tags []string
	// FirstResponse is how long the player may wait for an agent's answer; zero runs no clock.
	FirstResponse time.Duration
	// VIPFirstResponse, when set, replaces FirstResponse for a player with a VIP tier, as
	// the conversation knows them: a later message need not show the tier again.
	VIPFirstResponse time.Duration
	// Assignee a new conversation opens with (a VIP's personal manager); nil for none. It never
	// changes an open conversation: from then on its assignee is the helpdesk's to set.
	Assignee *normalize.Agent
	// Hold names the FAQ bot that answers a new conversation first: its inbound lane is held
	// (stored, not posted to the helpdesk) until the bot hands it off (held.go). It never
	// changes an open conversation.
	Hold string
	// Clock, when set, times the response clocks in place of FirstResponse and
	// VIPFirstResponse (router/sla.go): when a clock started at since for a player of vipTier
	// is near its breach and due, a zero time for none; next is false for the first answer,
	// true for the answers after it.
	Clock func(since time.Time, next bool, vipTier int) (nearBreach, due time.Time)
	// Complex flags the conversation a complex case: its escalation clock starts unless one
	// runs (slastages.go).
	Complex bool
}

// target is the first-response target for a player of vipTier.
func (a Assessment) target(vipTier int) time.Duration {
	if vipTier > 0 && a.VIPFirstResponse > 0 {
		return a.VIPFirstResponse
	}
	return a.FirstResponse
}

// Assess is the routing policy intake consults for every inbound message.
type Assess func(m normalize.Message) Assessment

// Accepted reports what intake did with one message.
type Accepted struct {
	ID           normalize.MessageID
	Conversation normalize.ConversationID
	// Duplicate is true when the message was stored before (same source and external ID);
	// ID is then the stored message's ID.
	Duplicate bool
	// Opened is true when the message opened a new conversation.
	Opened bool
	// Answered is the response clock an agent's answer stopped; nil when none ran.
	Answered *Answered
}

// Intake stores msgs and enqueues their delivery in one transaction, deduplicated on
// (Source, ExternalID). It returns only once the transaction is durable. Inbound messages
// find their conversation by (Channel, Address) or open one with open; outbound messages
// find theirs by Conversation or by (Source, Ticket). If any message cannot be accepted the
// whole call fails and nothing is stored; such errors wrap connectors.ErrPermanent.
//
// Intake also keeps each conversation's metadata: an inbound message that reveals a new
// language, player ID or VIP tier, or calls for a higher priority, updates the conversation
// and enqueues an Update for its helpdesk just before the message. A player's message starts
// the first-response clock when it is not running; an agent's answer or closing stops it.
func (s *Store) Intake(ctx context.Context, msgs []normalize.Message, assess Assess) ([]Accepted, error) {
	out, _, err := s.IntakeHandoff(ctx, msgs, assess, Handoff{})
	return out, err
}

// IntakeHandoff is Intake that also hands the caller the lanes of msgs that are claimable
// once stored (due, unleased and not held: typically a lane that was idle), leased in the same
// transaction, so the caller's workers deliver them at once. Without it every message took a
// claim of its own after intake: one more transaction and commit, and the router asking the
// store what is due, which at a steady rate was about a third of the gateway's CPU (issue 16).
// A lane leased elsewhere, waiting out a retry or held by the FAQ bot is not handed over; a
// later claim finds it as before.
func (s *Store) IntakeHandoff(ctx context.Context, msgs []normalize.Message, assess Assess, h Handoff) ([]Accepted, []Lane, error) {
	for i := range msgs {
		if err := validate(&msgs[i]); err != nil {
			return nil, nil, connectors.Permanent(fmt.Errorf("store: message %d: %w", i, err))
		}
	}
	var out []Accepted
	var lanes []Lane
	err := s.writer.doFirst(ctx, func(ctx context.Context, tx *wtx) error {
		out, lanes = make([]Accepted, 0, len(msgs)), nil
		now := s.now()
		// Per call, not per transaction: another caller's share of the group commit may be
		// rolled back to its savepoint, taking its lane updates with it.
		due := newIntakeBatch()
		fresh, known, err := s.lookUp(ctx, tx, msgs)
		if err != nil {
			return err
		}
		assessed, err := s.openConversations(ctx, tx, msgs, fresh, known, assess, now.UnixMilli())
		if err != nil {
			return err
		}
		for i, m := range msgs {
			assessOne := assess
			o := assessed[i]
			if o != nil {
				assessOne = func(normalize.Message) Assessment { return o.a }
			}
			a, err := s.intakeOne(ctx, tx, due, known, m, fresh[i], assessOne, now.UnixMilli())
			if err != nil {
				return err
			}
			if o != nil && o.row.opened {
				a.Opened = true // also when an agent's message before it made it read the row again
			}
			out = append(out, a)
		}
		if err := due.flush(ctx, tx); err != nil {
			return err
		}
		lanes, err = handOff(ctx, tx, msgs, out, h, now.UnixMilli())
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, lanes, nil
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
	case m.Complex && (m.Direction != normalize.Outbound || m.Kind != normalize.KindSystem):
		return errors.New("only an outbound system message flags a conversation complex")
	case m.Assignee != nil && (m.Direction != normalize.Outbound || m.Kind != normalize.KindSystem):
		return errors.New("only an outbound system message assigns a conversation")
	case m.Update != nil:
		return errors.New("updates are the gateway's own; a connector cannot deliver one")
	}
	if m.ID == "" {
		m.ID = normalize.NewMessageID()
	}
	if m.Kind == "" {
		m.Kind = normalize.KindText
	}
	return nil
}

// recordExternalIDs records the dedup keys (Source, ExternalID) of msgs and reports which
// messages are new: those whose own key it recorded. A key already stored, or taken by an
// earlier message of msgs, is a duplicate. A batch (a getUpdates answer: up to 100 messages)
// records its keys a chunk at a time rather than one statement per message: on PostgreSQL each
// statement is a round trip and the server's CPU (issue 16).
//
// On a dialect that pipelines the insert is only queued, and fresh is filled when it is sent:
// lookUp sends it with the read of the conversations.
func recordExternalIDs(ctx context.Context, tx *wtx, msgs []normalize.Message) (fresh []bool, err error) {
	fresh = make([]bool, len(msgs))
	if len(msgs) == 1 && tx.conn == nil {
		// One message, as at a steady rate: an Exec costs less than a row to read.
		m := msgs[0]
		res, err := tx.ExecContext(ctx, `INSERT INTO external_ids (instance, external_id, message_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			m.Source, m.ExternalID, m.ID)
		if err != nil {
			return nil, fmt.Errorf("store: record external ID: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("store: record external ID: %w", err)
		}
		fresh[0] = n == 1
		return fresh, nil
	}
	type key struct {
		instance normalize.InstanceName
		ext      normalize.ExternalID
	}
	recorded := make(map[key]normalize.MessageID, len(msgs))
	vals := make([]any, 0, 3*len(msgs))
	for _, m := range msgs {
		vals = append(vals, string(m.Source), string(m.ExternalID), string(m.ID))
	}
	err = tx.w.d.eachChunk([]string{"TEXT", "TEXT", "TEXT"}, vals, markChunk, func(source string, args []any) error {
		return tx.readLater(ctx, func(rows rowReader) error {
			for rows.Next() {
				var k key
				var id normalize.MessageID
				if err := rows.Scan(&k.instance, &k.ext, &id); err != nil {
					return fmt.Errorf("store: record external IDs: %w", err)
				}
				recorded[k] = id
			}
			for i, m := range msgs {
				fresh[i] = recorded[key{m.Source, m.ExternalID}] == m.ID
			}
			return nil
		}, `INSERT INTO external_ids (instance, external_id, message_id) `+source+`
			ON CONFLICT DO NOTHING RETURNING instance, external_id, message_id`, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: record external IDs: %w", err)
	}
	return fresh, nil
}

func (s *Store) intakeOne(ctx context.Context, tx *wtx, due *intakeBatch, known knownConversations, m normalize.Message, fresh bool, assess Assess, now int64) (Accepted, error) {
	if !fresh {
		// The stored message may be one of this call's, not inserted yet.
		if err := due.flush(ctx, tx); err != nil {
			return Accepted{}, err
		}
		a := Accepted{Duplicate: true}
		err := tx.QueryRowContext(ctx, `SELECT e.message_id, COALESCE(m.conversation_id, '') FROM external_ids e LEFT JOIN messages m ON m.id = e.message_id
			WHERE e.instance = ? AND e.external_id = ?`, m.Source, m.ExternalID).Scan(&a.ID, &a.Conversation)
		if err != nil {
			return Accepted{}, fmt.Errorf("store: look up duplicate: %w", err)
		}
		return a, nil
	}
	a := Accepted{ID: m.ID}
	var err error
	if m.Direction == normalize.Inbound {
		var upd *normalize.Message
		a.Conversation, a.Opened, upd, err = s.inboundConversation(ctx, tx, known, m, assess, now)
		if err == nil && upd != nil {
			err = due.enqueue(ctx, tx, *upd, now)
		}
	} else {
		// An agent's message may change its conversation (a status): rows read before it are
		// read again.
		clear(known)
		// An agent's message reads the conversation's messages (a ticket being created, the
		// message it answers): those of this call must be stored first.
		if err := due.flush(ctx, tx); err != nil {
			return Accepted{}, err
		}
		a.Conversation, err = outboundConversation(ctx, tx, m, now)
		if err == nil {
			a.Answered, err = applyOutbound(ctx, tx, a.Conversation, m, now)
		}
	}
	if err != nil {
		return Accepted{}, err
	}
	m.Conversation = a.Conversation
	if m.Direction == normalize.Outbound && m.ReplyTo != "" {
		if m.ReplyTo, err = channelReplyTo(ctx, tx, m.Source, m.ReplyTo); err != nil {
			return Accepted{}, err
		}
	}
	return a, due.enqueue(ctx, tx, m, now)
}

// hasBlobs reports whether m has attachments stored in the blob store (see recordBlobs).
func hasBlobs(m normalize.Message) bool {
	return slices.ContainsFunc(m.Attachments, func(a normalize.Attachment) bool { return a.BlobRef != "" })
}

// applyOutbound applies what an agent's message does to its conversation: a status change,
// an assignment, a complex flag, and stopping the response clock when an agent answers or
// closes; it returns the clock an answer stopped.
func applyOutbound(ctx context.Context, tx *wtx, conv normalize.ConversationID, m normalize.Message, now int64) (*Answered, error) {
	if m.Status != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?`, m.Status, now, conv); err != nil {
			return nil, fmt.Errorf("store: apply status of %s: %w", conv, err)
		}
	}
	if m.Complex {
		if err := flagComplexByAgent(ctx, tx, conv, now); err != nil {
			return nil, err
		}
	}
	if m.Assignee != nil {
		assignee := ""
		if *m.Assignee != (normalize.Agent{}) {
			b, _ := json.Marshal(m.Assignee)
			assignee = string(b)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee = ?, updated_at = ? WHERE id = ?`, assignee, now, conv); err != nil {
			return nil, fmt.Errorf("store: apply assignee of %s: %w", conv, err)
		}
	}
	// Only an agent's words answer: the FAQ bot's do not (no clock runs while it holds the
	// conversation, and a hand-off starts one that only an agent stops; held.go).
	answered := m.Author.Role == normalize.RoleAgent && m.Kind != normalize.KindNote && m.Kind != normalize.KindSystem
	if m.Status == normalize.StatusClosed {
		if err := closeComplex(ctx, tx, conv); err != nil {
			return nil, err
		}
	}
	if answered || m.Status == normalize.StatusClosed {
		return stopClock(ctx, tx, conv, answered, now)
	}
	return nil, nil
}

// inboundConversation finds or opens the conversation of m and keeps its metadata; upd is
// the Update to enqueue before m when m changed what the helpdesk should know.
func (s *Store) inboundConversation(ctx context.Context, tx *wtx, known knownConversations, m normalize.Message, assess Assess, now int64) (id normalize.ConversationID, opened bool, upd *normalize.Message, err error) {
	var cur convMeta
	var tags, player string
	var awaiting sql.NullInt64
	// A player writing again reopens the conversation. When the helpdesk had closed the
	// ticket, the ticket moves to follow_up_of and the next post opens a new one that follows
	// it up, unless the helpdesk reopens closed tickets (Options.ReopenClosed, a ",a,b," list
	// that replace() reads alike on both dialects). SET reads the row as it was, so both CASEs
	// see the old status and ticket.
	//
	// Most messages come to an open conversation and change nothing: a read finds it (and
	// takes the row's lock at once on PostgreSQL), and the update runs only to reopen it or
	// when its last activity is older than touchEvery. Updating the row for every message
	// rewrote five of its indexes each time, and was the costliest statement of intake (a
	// tenth of the gateway's CPU in a backlog, issue 16).
	const moves = `status = 'closed' AND ticket <> '' AND replace(?, ',' || helpdesk || ',', '') = ?`
	// after is the row as m leaves it, which the call's next message of the conversation
	// takes instead of reading it again (knownConversations.keep).
	var after convRow
	find := func() error {
		r, err := known.take(m.Channel, m.Address)
		if !r.read {
			err = tx.QueryRowContext(ctx, `SELECT `+convRowColumns+` FROM conversations WHERE channel = ? AND address = ?`+s.d.lockRow,
				m.Channel, m.Address).Scan(r.dest()...)
		}
		id, cur.language, cur.priority, tags, player, awaiting = r.id, r.language, r.priority, r.tags, r.player, r.awaiting
		after = r
		if err != nil || (r.status == normalize.StatusOpen && r.updated > now-touchEvery.Milliseconds()) {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ?, status = ?,
			follow_up_of = CASE WHEN `+moves+` THEN ticket ELSE follow_up_of END,
			ticket = CASE WHEN `+moves+` THEN '' ELSE ticket END
			WHERE id = ?`,
			now, normalize.StatusOpen, s.reopeners, s.reopeners, s.reopeners, s.reopeners, id)
		after.status, after.updated = normalize.StatusOpen, now
		return err
	}
	err = find()
	if err == nil && after.opened {
		known.keep(m.Channel, m.Address, after)
		return id, true, nil, nil // opened by openConversations
	}
	if errors.Is(err, sql.ErrNoRows) {
		id, opened, err = s.openConversation(ctx, tx, m, assess(m), now)
		if err != nil || opened {
			return id, opened, nil, err
		}
		// Another replica opened it in the meantime, and committed: go on with that one.
		err = find()
	}
	if err != nil {
		return "", false, nil, fmt.Errorf("store: find conversation: %w", err)
	}
	if err := decodeStored([]byte(tags), &cur.tags); err != nil {
		return "", false, nil, fmt.Errorf("store: decode tags of %s: %w", id, err)
	}
	if err := decodeStored([]byte(player), &cur.player); err != nil {
		return "", false, nil, fmt.Errorf("store: decode player of %s: %w", id, err)
	}
	a := assess(m)
	next, changed := cur.merge(m, a)
	if !next.equal(cur) {
		tagsJSON, _ := json.Marshal(next.tags)
		playerJSON, _ := json.Marshal(next.player)
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET language = ?, priority = ?, tags = ?, player = ? WHERE id = ?`,
			next.language, next.priority, tagsJSON, playerJSON, id); err != nil {
			return "", false, nil, fmt.Errorf("store: update conversation: %w", err)
		}
		after.language, after.priority, after.tags, after.player = next.language, next.priority, string(tagsJSON), string(playerJSON)
	}
	if startsClock(m) && !awaiting.Valid {
		// A conversation the FAQ bot holds waits for no agent: its clock starts at the hand-off.
		held, err := laneHeld(ctx, tx, id)
		if err != nil {
			return "", false, nil, err
		}
		if !held {
			if awaiting, _, _, err = startClock(ctx, tx, id, a, next.player.VIPTier, now); err != nil {
				return "", false, nil, err
			}
		}
	}
	if a.Complex {
		if err := flagComplex(ctx, tx, id, now); err != nil {
			return "", false, nil, err
		}
	}
	after.awaiting = awaiting
	known.keep(m.Channel, m.Address, after)
	if len(changed) == 0 {
		return id, false, nil, nil
	}
	if slices.Contains(changed, normalize.FieldPlayerID) {
		if err := linkPlayer(ctx, tx, id, next.player.PlayerID, next.player.PlayerIDBy, now); err != nil {
			return "", false, nil, err
		}
	}
	clock, err := currentSLA(ctx, tx, id)
	if err != nil {
		return "", false, nil, err
	}
	u := &normalize.Update{Changed: changed, Language: next.language, PlayerID: next.player.PlayerID, VIPTier: next.player.VIPTier,
		Priority: next.priority, SLA: clock}
	msg := updateMessage(id, m, u, now)
	return id, false, &msg, nil
}

// touchEvery is how stale a conversation's updated_at (its last activity, which orders the
// admin API's list and dates a closed conversation for retention) may get while players
// write to it: intake updates it no more often.
const touchEvery = time.Minute

// startsClock reports whether m is a player's words that an agent should answer: not an
// event, and not a reaction to, edit or deletion of something already said.
func startsClock(m normalize.Message) bool {
	switch m.Kind {
	case normalize.KindSystem, normalize.KindReaction, normalize.KindEdit, normalize.KindDeletion:
		return false
	}
	return m.Author.Role == normalize.RolePlayer
}

// dueAt is the SLA deadline as a column value: NULL without a target.
func dueAt(now int64, target time.Duration) sql.NullInt64 {
	if target <= 0 {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: now + target.Milliseconds(), Valid: true}
}

func outboundConversation(ctx context.Context, tx *wtx, m normalize.Message, now int64) (normalize.ConversationID, error) {
	var id normalize.ConversationID
	var err error
	if m.Conversation != "" {
		err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE id = ? AND helpdesk = ?`, m.Conversation, m.Source).Scan(&id)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE helpdesk = ? AND ticket = ?`, m.Source, m.Ticket).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// A late event on the ticket closed before the player's follow-up: an agent's last
			// word or a status change belongs to the same conversation still.
			err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE helpdesk = ? AND follow_up_of = ?`, m.Source, m.Ticket).Scan(&id)
		}
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

// ticketBeingCreated reports whether a conversation of helpdesk without a ticket may have
// one remotely that is not recorded here yet: its inbound lane is leased for delivery right
// now, or it has queued inbound messages already handed out (attempts > 0). An attempt that
// timed out may have created the ticket all the same, and the lane is released while it
// backs off; a reply on that ticket must then be retried, not lost.
func ticketBeingCreated(ctx context.Context, tx *wtx, helpdesk normalize.InstanceName, now int64) (bool, error) {
	var creating bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM conversations c JOIN lanes l ON l.conversation_id = c.id AND l.direction = 'inbound'
		WHERE c.helpdesk = ? AND c.ticket = '' AND (l.lease_until > ? OR EXISTS (SELECT 1 FROM messages m
			WHERE m.conversation_id = c.id AND m.direction = 'inbound' AND m.state = 'queued' AND m.attempts > 0)))`, helpdesk, now).Scan(&creating)
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
	if err := decodeStored(body, &answered); err != nil {
		return "", fmt.Errorf("store: decode answered message: %w", err)
	}
	return answered.ExternalID, nil
}
