package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// A conversation the FAQ bot answers first (router/faqbot) has its inbound lane held by the
// bot: the player's messages are stored and acknowledged as always, but Claim skips the lane,
// so nothing is posted to the helpdesk. The bot then either hands the conversation off
// (Release: the lane is due, and everything held goes to the helpdesk in order, the bot's
// own words included) or settles what it resolved (Settle: no ticket). A column of the lane
// rather than a queue of its own keeps the outbox the one queue, its order and its leases.

// holdLane creates conv's inbound lane held by bot, before its first message is enqueued
// (enqueue's upsert keeps the name).
func holdLane(ctx context.Context, tx *wtx, conv normalize.ConversationID, bot string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO lanes (conversation_id, direction, held) VALUES (?, ?, ?)
		ON CONFLICT (conversation_id, direction) DO UPDATE SET held = excluded.held`, conv, normalize.Inbound, bot); err != nil {
		return fmt.Errorf("store: hold the lane of %s for %s: %w", conv, bot, err)
	}
	return nil
}

// laneHeld reports whether a bot holds conv's inbound lane.
func laneHeld(ctx context.Context, tx *wtx, conv normalize.ConversationID) (bool, error) {
	var held bool
	err := tx.QueryRowContext(ctx, `SELECT held <> '' FROM lanes WHERE conversation_id = ? AND direction = ?`, conv, normalize.Inbound).Scan(&held)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: is %s held: %w", conv, err)
	}
	return held, nil
}

// HandoffClock times the response clock a hand-off starts (router/sla.go): when a clock of a
// conversation on a channel of kind, started at since for a player of vipTier, is near its
// breach and due; zero times for none. next is true when an agent answered before.
type HandoffClock func(kind normalize.ChannelKind, since time.Time, next bool, vipTier int) (nearBreach, due time.Time)

// startHandoffClock starts conv's response clock at now, the hand-off: the player has waited
// for the bot until then, and waits for a person from then on. A clock already running is
// left as it is.
func startHandoffClock(ctx context.Context, tx *wtx, conv normalize.ConversationID, clock HandoffClock, now int64) error {
	var kind normalize.ChannelKind
	var player string
	var awaiting sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT channel_kind, player, awaiting_since FROM conversations WHERE id = ?`, conv).Scan(&kind, &player, &awaiting); err != nil {
		return fmt.Errorf("store: start the clock of %s at its hand-off: %w", conv, err)
	}
	if awaiting.Valid {
		return nil
	}
	var p normalize.Author
	if err := decodeStored([]byte(player), &p); err != nil {
		return fmt.Errorf("store: decode player of %s: %w", conv, err)
	}
	var a Assessment
	if clock != nil {
		a.Clock = func(since time.Time, next bool, vipTier int) (time.Time, time.Time) {
			return clock(kind, since, next, vipTier)
		}
	}
	_, _, _, err := startClock(ctx, tx, conv, a, p.VIPTier, now)
	return err
}

// HeldBy returns the name of the bot holding conv's inbound lane, "" when none does (the
// conversation was never the bot's, or was handed off).
func (s *Store) HeldBy(ctx context.Context, conv normalize.ConversationID) (string, error) {
	var bot string
	err := s.read.QueryRowContext(ctx, `SELECT held FROM lanes WHERE conversation_id = ? AND direction = ?`, conv, normalize.Inbound).Scan(&bot)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: who holds %s: %w", conv, err)
	}
	return bot, nil
}

// Release hands conv off from the bot holding it: the lane is no longer held and is due now
// when it has queued messages, which the router then posts to the helpdesk in order, and the
// response clock starts now, timed by clock (nil: a clock with no target, which measures the
// wait but never breaches). It reports whether the lane was held; releasing twice does
// nothing the second time.
func (s *Store) Release(ctx context.Context, conv normalize.ConversationID, clock HandoffClock) (bool, error) {
	var released bool
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE lanes SET held = '', due_at = CASE WHEN EXISTS (SELECT 1 FROM messages m
			WHERE m.conversation_id = lanes.conversation_id AND m.direction = lanes.direction AND m.state = 'queued')
			THEN COALESCE(due_at, ?) END
			WHERE conversation_id = ? AND direction = ? AND held <> ''`, millis(s.now()), conv, normalize.Inbound)
		if err != nil {
			return fmt.Errorf("store: release %s: %w", conv, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: release %s: %w", conv, err)
		}
		released = n == 1
		if released {
			return startHandoffClock(ctx, tx, conv, clock, millis(s.now()))
		}
		return nil
	})
	return released, err
}

// Settle records that the bot resolved conv up to and including the inbound message through:
// the held messages up to it leave the queue as sent (the bot took them; no helpdesk sees
// them), and the lane idles when nothing is left. Messages stored after through stay queued,
// so a player's message that arrives while the bot settles is never dropped. The lane stays
// held: the player's next message goes to the bot again. Settling a lane no longer held
// (handed off meanwhile) does nothing and reports false.
func (s *Store) Settle(ctx context.Context, conv normalize.ConversationID, through normalize.MessageID) (bool, error) {
	var settled bool
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		settled = false
		// Touching the lane's row first locks it: on PostgreSQL a Release in flight is waited
		// for, and the lane is then found no longer held.
		res, err := tx.ExecContext(ctx, `UPDATE lanes SET held = held WHERE conversation_id = ? AND direction = ? AND held <> ''`,
			conv, normalize.Inbound)
		if err != nil {
			return fmt.Errorf("store: settle %s: %w", conv, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: settle %s: %w", conv, err)
		} else if n == 0 {
			return nil
		}
		now := millis(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, delivered_at = ? WHERE conversation_id = ? AND direction = ?
			AND state = 'queued' AND seq <= (SELECT seq FROM messages WHERE id = ?)`,
			normalize.StateSent, now, conv, normalize.Inbound, through); err != nil {
			return fmt.Errorf("store: settle %s: %w", conv, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lanes SET due_at = NULL, failures = 0 WHERE conversation_id = ? AND direction = ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = lanes.conversation_id AND m.direction = lanes.direction
			AND m.state = 'queued')`, conv, normalize.Inbound); err != nil {
			return fmt.Errorf("store: settle %s: %w", conv, err)
		}
		settled = true
		return nil
	})
	return settled, err
}

// ReleaseOthers hands off every conversation held by a bot not named in bots (a bot removed
// from the configuration, or every bot when there are none), as Release does with clock, and
// returns how many it released. Run at start: no one would ever answer such a conversation.
func (s *Store) ReleaseOthers(ctx context.Context, bots []string, clock HandoffClock) (int, error) {
	var n int
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		n = 0
		now := millis(s.now())
		query := `UPDATE lanes SET held = '', due_at = CASE WHEN EXISTS (SELECT 1 FROM messages m
			WHERE m.conversation_id = lanes.conversation_id AND m.direction = lanes.direction AND m.state = 'queued')
			THEN COALESCE(due_at, ?) END
			WHERE direction = ? AND held <> ''`
		args := []any{now, normalize.Inbound}
		if len(bots) > 0 {
			query += ` AND held NOT IN (?` + strings.Repeat(", ?", len(bots)-1) + `)`
			for _, b := range bots {
				args = append(args, b)
			}
		}
		rows, err := tx.QueryContext(ctx, query+` RETURNING conversation_id`, args...)
		if err != nil {
			return fmt.Errorf("store: release conversations of unknown bots: %w", err)
		}
		ids, err := scanIDs(rows)
		if err != nil {
			return fmt.Errorf("store: release conversations of unknown bots: %w", err)
		}
		for _, id := range ids {
			if err := startHandoffClock(ctx, tx, id, clock, now); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
