package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/casino-support/gateway/normalize"
)

// Hand-outs: a leased lane filled with its oldest queued messages, counted as an attempt, and
// its conversation, the same way whichever way it was leased (Claim, IntakeHandoff,
// CompleteNext).

// fillLane reads up to batch of the oldest queued messages of l (whose conversation
// l.Conversation.ID names) and its conversation into l, counting the hand-out as an attempt;
// it reports false, having read no more, when nothing is queued. Every way a lane is handed
// out (Claim, IntakeHandoff, CompleteNext) reads it so.
func fillLane(ctx context.Context, tx *wtx, l *Lane, batch int) (bool, error) {
	if tx.conn != nil {
		// The hand-out and the conversation's read go in one round trip with the statements
		// queued before them (the completion's record, when it goes on with its lane): they
		// were three round trips on PostgreSQL (issue 16).
		f := queueFill(ctx, tx, *l, batch)
		if err := tx.flush(ctx); err != nil {
			return false, fmt.Errorf("store: hand out messages: %w", err)
		}
		return f.finish(ctx, tx, l)
	}
	pending, err := handOutMessages(ctx, tx, l.Conversation.ID, l.Direction, batch)
	if err != nil || len(pending) == 0 {
		// Most completions at a steady rate leave nothing queued: the conversation is not read.
		return false, err
	}
	conv, err := getConversation(ctx, tx, l.Conversation.ID)
	if err != nil {
		return false, err
	}
	return true, filledLane(ctx, tx, l, conv, pending)
}

// filledLane completes l with its conversation and the messages handed out of it.
func filledLane(ctx context.Context, tx *wtx, l *Lane, conv normalize.Conversation, pending []Pending) (err error) {
	if l.Direction == normalize.Inbound && conv.Player.PlayerID != "" {
		// The helpdesk shows the player's other conversations with this one (issue 17).
		if conv.Linked, err = linkedConversations(ctx, tx, conv.Player.PlayerID, conv.ID, maxLinked); err != nil {
			return err
		}
	}
	l.Conversation = conv
	l.Pending = pending
	return nil
}

// fillLanes fills each of lanes (fillLane) and returns those it handed messages out of, in
// their order; it idles the others. On a dialect that pipelines every lane's hand-out and
// conversation go in one round trip: a claim or an intake's hand-over of several lanes was a
// round trip or two per lane on PostgreSQL (issue 16).
func fillLanes(ctx context.Context, tx *wtx, lanes []Lane, batch int) ([]Lane, error) {
	fills := make([]*laneFill, len(lanes))
	if tx.conn != nil {
		for i := range lanes {
			fills[i] = queueFill(ctx, tx, lanes[i], batch)
		}
		if err := tx.flush(ctx); err != nil {
			return nil, fmt.Errorf("store: hand out messages: %w", err)
		}
	}
	var kept []Lane
	for i, l := range lanes {
		var found bool
		var err error
		if fills[i] != nil {
			found, err = fills[i].finish(ctx, tx, &l)
		} else {
			found, err = fillLane(ctx, tx, &l, batch)
		}
		if err != nil {
			return nil, err
		}
		if !found {
			if err := idleLane(ctx, tx, l.Conversation.ID, l.Direction); err != nil {
				return nil, err
			}
			continue
		}
		kept = append(kept, l)
	}
	return kept, nil
}

// laneFill is a lane's hand-out and the read of its conversation, queued (queueFill) and read
// once sent.
type laneFill struct {
	pending []Pending
	conv    conversationRow
	found   bool
}

func queueFill(ctx context.Context, tx *wtx, l Lane, batch int) *laneFill {
	f := &laneFill{}
	conv, dir := l.Conversation.ID, l.Direction
	// Queued, not run: the caller (fillLanes) has a connection that pipelines.
	_ = tx.readLater(ctx, pendingRows(&f.pending), handOut, conv, dir, dir, conv, batch)
	_ = tx.readLater(ctx, func(rows rowReader) error {
		if len(f.pending) == 0 || !rows.Next() {
			return nil // nothing handed out: the conversation is not scanned
		}
		f.found = true
		return rows.Scan(f.conv.dest()...)
	}, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, conv)
	return f
}

// finish fills l with what was read, once sent; false when nothing was handed out.
func (f *laneFill) finish(ctx context.Context, tx *wtx, l *Lane) (bool, error) {
	if len(f.pending) == 0 {
		return false, nil
	}
	if !f.found {
		return false, fmt.Errorf("store: conversation %s: %w", l.Conversation.ID, ErrNotFound)
	}
	slices.SortFunc(f.pending, func(a, b Pending) int { return cmp.Compare(a.Seq, b.Seq) })
	full, err := f.conv.conversation()
	if err != nil {
		return false, err
	}
	return true, filledLane(ctx, tx, l, full, f.pending)
}

// handOut counts a hand-out of a lane's oldest queued messages and returns them (see
// handOutMessages). Its arguments: the conversation, the direction twice, the conversation
// again, the batch.
const handOut = `UPDATE messages SET attempts = attempts + 1 WHERE seq IN (SELECT seq FROM messages
		WHERE conversation_id = ? AND direction = ? AND state = 'queued' ORDER BY seq
		LIMIT (CASE WHEN ? = 'inbound' AND (SELECT ticket FROM conversations WHERE id = ?) = '' THEN 1 ELSE CAST(? AS INTEGER) END))
		RETURNING seq, body, attempts`

// handOutMessages counts a hand-out as an attempt of up to batch of the lane's oldest queued
// messages and returns them, oldest first, each Attempt counting this hand-out: counting before
// the attempt lets a connector know, after a crash, that an earlier attempt may have reached
// the remote side. An inbound lane whose conversation has no ticket yet hands out its opening
// message alone, so the new ticket is recorded before anything else is posted: an agent reply
// (or auto-reply) naming it is then recognised.
//
// One statement both counts and reads (issue 16: a read, then an update, were two statements
// per hand-out, each a round trip on PostgreSQL); RETURNING gives no order, so the messages are
// sorted here.
func handOutMessages(ctx context.Context, tx *wtx, conv normalize.ConversationID, dir normalize.Direction, batch int) ([]Pending, error) {
	var out []Pending
	if err := tx.read(ctx, pendingRows(&out), handOut, conv, dir, dir, conv, batch); err != nil {
		return nil, fmt.Errorf("store: hand out messages: %w", err)
	}
	slices.SortFunc(out, func(a, b Pending) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// pendingRows reads the rows of a hand-out (handOut) into out, in the order they come.
func pendingRows(out *[]Pending) func(rowReader) error {
	return func(rows rowReader) error {
		for rows.Next() {
			var p Pending
			var body []byte
			if err := rows.Scan(&p.Seq, &body, &p.Attempt); err != nil {
				return fmt.Errorf("scan outbox: %w", err)
			}
			if err := decodeStored(body, &p.Message); err != nil {
				return fmt.Errorf("decode message %d: %w", p.Seq, err)
			}
			*out = append(*out, p)
		}
		return nil
	}
}

// idleLane idles a lane found with nothing queued, releasing any lease it has.
func idleLane(ctx context.Context, tx *wtx, conv normalize.ConversationID, dir normalize.Direction) error {
	if err := tx.execLater(ctx, nil, `UPDATE lanes SET lease_owner = '', lease_until = 0, due_at = NULL, failures = 0
		WHERE conversation_id = ? AND direction = ?`, conv, dir); err != nil {
		return fmt.Errorf("store: idle lane: %w", err)
	}
	return nil
}

// conversationColumns are a conversation's columns, in the order conversationRow scans them.
const conversationColumns = `id, channel, channel_kind, address, helpdesk, ticket, follow_up_of, status, priority, language, tags, player,
	created_at, updated_at, awaiting_since, sla_due_at, sla_breached_at, assignee, sla_warn_at, sla_warned_at, first_answered_at`

// conversationRow is a conversation's row being scanned: dest for Scan, then conversation.
type conversationRow struct {
	c                                          normalize.Conversation
	tags, player, assignee                     string
	created, updated                           int64
	awaiting, due, breached, warn, warned, ans sql.NullInt64
}

func (r *conversationRow) dest() []any {
	c := &r.c
	return []any{&c.ID, &c.Channel, &c.ChannelKind, &c.Address, &c.Helpdesk, &c.Ticket, &c.FollowUpOf, &c.Status, &c.Priority, &c.Language,
		&r.tags, &r.player, &r.created, &r.updated, &r.awaiting, &r.due, &r.breached, &r.assignee, &r.warn, &r.warned, &r.ans}
}

func (r *conversationRow) conversation() (normalize.Conversation, error) {
	c := r.c
	if err := decodeStored([]byte(r.tags), &c.Tags); err != nil {
		return c, fmt.Errorf("store: decode tags of %s: %w", c.ID, err)
	}
	if err := decodeStored([]byte(r.player), &c.Player); err != nil {
		return c, fmt.Errorf("store: decode player of %s: %w", c.ID, err)
	}
	if r.assignee != "" {
		c.Assignee = new(normalize.Agent)
		if err := decodeStored([]byte(r.assignee), c.Assignee); err != nil {
			return c, fmt.Errorf("store: decode assignee of %s: %w", c.ID, err)
		}
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(r.created), fromMillis(r.updated)
	c.SLA = clockOf(r.awaiting, r.due, r.breached, r.warn, r.warned, r.ans)
	return c, nil
}

func getConversation(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id normalize.ConversationID) (normalize.Conversation, error) {
	var r conversationRow
	err := q.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return normalize.Conversation{}, fmt.Errorf("store: conversation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return normalize.Conversation{}, fmt.Errorf("store: read conversation %s: %w", id, err)
	}
	return r.conversation()
}
