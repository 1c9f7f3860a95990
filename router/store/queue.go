package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// ErrLeaseLost is returned when a worker records something about a lane (Complete, Renew)
// whose lease is no longer its own: it lapsed and another claim took the lane. Nothing of the
// record is stored; the lane's new holder delivers its messages.
var ErrLeaseLost = errors.New("store: the lane's lease passed to another claim")

// Lane is one conversation's outbox in one direction, claimed for delivery.
type Lane struct {
	Conversation normalize.Conversation
	Direction    normalize.Direction
	// Token fences the claim: every claim of a lane takes a higher one, and Complete and
	// Renew must present it.
	Token int64
	// Failures counts consecutive failed attempts of the lane's head message.
	Failures int
	// Pending holds the oldest queued messages, in order.
	Pending []Pending
}

// Pending is a queued message with the number of times it has been handed out (this one included).
type Pending struct {
	Seq     int64
	Message normalize.Message
	Attempt int
}

// Budget is how many lanes of each direction one claim may take. The router gives each
// direction workers of its own, so that lanes waiting on a slow channel (agents' replies)
// never take the workers that deliver players' messages to the helpdesks, nor the reverse.
type Budget struct {
	Inbound, Outbound int
}

// Claim leases up to max.Inbound due inbound lanes and max.Outbound due outbound lanes to
// owner until now+lease and returns them with up to batch pending messages each (one, for an
// inbound lane whose conversation has no ticket yet). A lane whose lease lapsed (its worker
// died) can be claimed again.
func (s *Store) Claim(ctx context.Context, owner string, max Budget, batch int, lease time.Duration) ([]Lane, error) {
	if s.nothingDue(ctx, max, millis(s.now())) {
		return nil, nil
	}
	var lanes []Lane
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		lanes, err = s.claimIn(ctx, tx, owner, max, batch, lease, millis(s.now()))
		return err
	})
	if err != nil {
		// The transaction rolled back: whatever lanes holds was never leased, and may be half-read.
		return nil, err
	}
	return lanes, nil
}

// claimIn is Claim within tx.
func (s *Store) claimIn(ctx context.Context, tx *wtx, owner string, max Budget, batch int, lease time.Duration, now int64) ([]Lane, error) {
	var lanes []Lane
	for _, b := range []struct {
		dir normalize.Direction
		max int
	}{{normalize.Inbound, max.Inbound}, {normalize.Outbound, max.Outbound}} {
		if b.max <= 0 {
			continue
		}
		var err error
		if lanes, err = leaseDueLanes(ctx, tx, s.d.skipLocked, owner, now, now+lease.Milliseconds(), b.dir, b.max, lanes); err != nil {
			return nil, err
		}
	}
	// A lane with nothing left (a replay emptied it, or a crash after delivery) is idled.
	return fillLanes(ctx, tx, lanes, batch)
}

// fillLane reads up to batch of the oldest queued messages of l (whose conversation
// l.Conversation.ID names) and its conversation into l, counting the hand-out as an attempt;
// it reports false, having read no more, when nothing is queued. Every way a lane is handed
// out (Claim, IntakeHandoff, CompleteNext) reads it so.
func fillLane(ctx context.Context, tx *wtx, l *Lane, batch int) (bool, error) {
	if tx.conn != nil {
		return fillLaneAtOnce(ctx, tx, l, batch)
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
			fills[i] = queueFill(tx, lanes[i], batch)
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

// fillLaneAtOnce is fillLane on a dialect that pipelines: the hand-out and the read of its
// conversation go in one round trip with the statements queued before them (the completion's
// record, when it goes on with its lane). They were three round trips on PostgreSQL (issue 16).
func fillLaneAtOnce(ctx context.Context, tx *wtx, l *Lane, batch int) (bool, error) {
	f := queueFill(tx, *l, batch)
	if err := tx.flush(ctx); err != nil {
		return false, fmt.Errorf("store: hand out messages: %w", err)
	}
	return f.finish(ctx, tx, l)
}

// laneFill is a lane's hand-out and the read of its conversation, queued (queueFill) and read
// once sent.
type laneFill struct {
	pending []Pending
	conv    conversationRow
	found   bool
}

func queueFill(tx *wtx, l Lane, batch int) *laneFill {
	f := &laneFill{}
	conv, dir := l.Conversation.ID, l.Direction
	tx.readLater(pendingRows(&f.pending), handOut, conv, dir, dir, conv, batch)
	tx.readLater(func(rows rowReader) error {
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

// leaseDueLanes leases to owner until leaseUntil up to max lanes of direction dir that are due
// and not leased at now, and appends them to lanes in the order they came due. One statement
// finds and leases them (issue 16: a statement per lane was a round trip each on PostgreSQL);
// RETURNING gives no order, so they are sorted here.
func leaseDueLanes(ctx context.Context, tx *wtx, skipLocked, owner string, now, leaseUntil int64, dir normalize.Direction, max int, lanes []Lane) ([]Lane, error) {
	// The due lanes are found once, in a materialized query: as a subquery PostgreSQL may run
	// it again for each row it joins, and each run of a LIMIT with SKIP LOCKED may find other
	// lanes, leasing more than max.
	type dueLane struct {
		lane Lane
		due  int64
	}
	var leased []dueLane
	err := tx.read(ctx, func(rows rowReader) error {
		for rows.Next() {
			d := dueLane{lane: Lane{Direction: dir}}
			if err := rows.Scan(&d.lane.Conversation.ID, &d.lane.Failures, &d.lane.Token, &d.due); err != nil {
				return fmt.Errorf("scan lane: %w", err)
			}
			leased = append(leased, d)
		}
		return nil
	}, `WITH due AS MATERIALIZED (SELECT conversation_id FROM lanes
			WHERE due_at IS NOT NULL AND due_at <= ? AND lease_until <= ? AND direction = ? AND held = '' ORDER BY due_at LIMIT CAST(? AS INTEGER)`+skipLocked+`)
		UPDATE lanes SET lease_owner = ?, lease_until = ?, lease_token = lease_token + 1
		FROM due WHERE lanes.conversation_id = due.conversation_id AND lanes.direction = ?
		RETURNING lanes.conversation_id, lanes.failures, lanes.lease_token, lanes.due_at`, now, now, dir, max, owner, leaseUntil, dir)
	if err != nil {
		return nil, fmt.Errorf("store: lease due %s lanes: %w", dir, err)
	}
	slices.SortFunc(leased, func(a, b dueLane) int { return cmp.Compare(a.due, b.due) })
	for _, d := range leased {
		lanes = append(lanes, d.lane)
	}
	return lanes, nil
}

// Delivered is one message the target accepted.
type Delivered struct {
	Seq int64
	ID  normalize.MessageID
	// TargetID is the target's ID of the message; it is recorded for echo suppression.
	TargetID normalize.ExternalID
}

// Failure describes why the lane's head message was not delivered.
type Failure struct {
	Seq int64
	Err string
	// Dead moves the message to the dead letters; the lane goes on with the next message.
	Dead bool
	// RetryAt is when the lane is due again (ignored when Dead).
	RetryAt time.Time
	// CountsAsFailure is false for waits the target asked for (Retry-After).
	CountsAsFailure bool
}

// Outcome is the result of delivering a claimed lane.
type Outcome struct {
	Conversation normalize.ConversationID
	Direction    normalize.Direction
	Owner        string
	// Token is the claim's (Lane.Token): the outcome is refused with ErrLeaseLost when the
	// lane was claimed again since.
	Token int64
	// Target is the instance the messages went to; their TargetIDs are unique within it.
	Target    normalize.InstanceName
	Delivered []Delivered
	// Ticket is recorded on the conversation when it has none yet.
	Ticket  normalize.Ref
	Failure *Failure
	// Keep records deliveries without releasing the lane: the worker goes on with it.
	Keep bool
}

// Complete records a delivery outcome and releases the lane: due again now if messages are
// left, at the failure's RetryAt after a failure, idle otherwise. It records nothing and
// returns ErrLeaseLost when the lane was claimed again since o's claim.
func (s *Store) Complete(ctx context.Context, o Outcome) error {
	_, _, err := s.CompleteNext(ctx, o, 0, 0)
	return err
}

// CompleteNext is Complete for a worker that goes on with the lane: when batch > 0, o
// delivered everything it was handed (no Failure, not Keep) and messages are left, the lane
// stays leased to o's claim, its token unchanged, until now+lease, and up to batch of the
// messages left are returned as Claim would hand them out (ok true). A lane with nothing left
// is released as Complete releases it. Going on in the transaction that records the outcome
// saves a claim (a transaction, and a commit) per batch of a busy lane (issue 16).
//
// A completion of inbound messages that records no new ticket need not survive a power loss:
// the helpdesk recognises the messages posted again by their idempotency keys. It commits
// without waiting for the sync unless it hands out a next batch, whose attempts must be on
// disk before they are made. Agents' replies go to channels, which mostly take no such keys:
// their records are durable.
func (s *Store) CompleteNext(ctx context.Context, o Outcome, batch int, lease time.Duration) (next Lane, ok bool, err error) {
	return s.complete(ctx, o, batch, lease, false)
}

// CompleteClaim is Complete for a worker that lanes wait behind: it releases o's lane as
// Complete does, then, in the same transaction, may claim for o.Owner the lane of o's
// direction that has been due longest (o's own included, when it has messages left), with up
// to batch of its messages, as Claim would (ok false when it claims none). A worker that let
// its lane go and left the next to the claim loop waited for a second group commit per batch:
// with the claim in its record, a SQLite burst's p99 fell from 448 to 192 ms (issue 16).
//
// On PostgreSQL it only releases, and leaves the claims to Claim. There every operation is a
// transaction of its own: a lane claimed the moment it came due carried 2.5 messages a batch
// instead of 6.5, each batch cost the server its own transactions, and a burst fell from
// 3,400-3,700 to 2,300-2,600 msg/s.
func (s *Store) CompleteClaim(ctx context.Context, o Outcome, batch int, lease time.Duration) (next Lane, ok bool, err error) {
	if s.d.opAlone {
		return s.complete(ctx, o, 0, 0, false)
	}
	return s.complete(ctx, o, batch, lease, true)
}

// complete is CompleteNext, or CompleteClaim with claim.
func (s *Store) complete(ctx context.Context, o Outcome, batch int, lease time.Duration, claim bool) (next Lane, ok bool, err error) {
	do := s.writer.do
	if o.Direction == normalize.Inbound && o.Ticket == "" {
		do = s.writer.doLazy
	}
	err = do(ctx, func(ctx context.Context, tx *wtx) error {
		next, ok = Lane{}, false
		now := millis(s.now())
		// The conversation's row before the lane's, in the order intake locks them: the other
		// order deadlocked with an intake on the same conversation, and on PostgreSQL each
		// deadlock costs a second (deadlock_timeout) before the server breaks it. A stale
		// worker's ticket is rolled back with the rest when holdLease refuses it.
		if o.Ticket != "" {
			if err := tx.execLater(ctx, nil, `UPDATE conversations SET ticket = ?, updated_at = ? WHERE id = ? AND ticket = ''`, o.Ticket, now, o.Conversation); err != nil {
				return fmt.Errorf("store: record ticket: %w", err)
			}
		}
		if err := holdLease(ctx, tx, o.Conversation, o.Direction, o.Token); err != nil {
			return err
		}
		if err := markDelivered(ctx, tx, o.Target, o.Delivered, now); err != nil {
			return err
		}
		if o.Keep {
			return nil
		}
		if batch > 0 && o.Failure == nil && !claim {
			l := Lane{Conversation: normalize.Conversation{ID: o.Conversation}, Direction: o.Direction, Token: o.Token}
			found, err := fillLane(ctx, tx, &l, batch)
			if err != nil {
				return err
			}
			if found {
				if err := tx.execLater(ctx, nil, `UPDATE lanes SET failures = 0, last_error = '', lease_until = ?
					WHERE conversation_id = ? AND direction = ?`, now+lease.Milliseconds(), o.Conversation, o.Direction); err != nil {
					return fmt.Errorf("store: keep lane: %w", err)
				}
				tx.mustSync()
				next, ok = l, true
				return nil
			}
		}
		failures, laneErr, due := 0, "", sql.NullInt64{}
		if f := o.Failure; f != nil {
			if f.Dead {
				if err := tx.execLater(ctx, nil, `UPDATE messages SET state = ?, last_error = ? WHERE seq = ? AND state = 'queued'`,
					normalize.StateFailed, f.Err, f.Seq); err != nil {
					return fmt.Errorf("store: dead-letter: %w", err)
				}
			} else {
				if err := tx.execLater(ctx, nil, `UPDATE messages SET last_error = ? WHERE seq = ?`, f.Err, f.Seq); err != nil {
					return fmt.Errorf("store: record error: %w", err)
				}
				if err := tx.QueryRowContext(ctx, `SELECT failures FROM lanes WHERE conversation_id = ? AND direction = ?`,
					o.Conversation, o.Direction).Scan(&failures); err != nil {
					return fmt.Errorf("store: read lane: %w", err)
				}
				if len(o.Delivered) > 0 {
					// The failures counted so far were the old head's; the failed message,
					// behind the ones delivered, is the head now and failed for the first time.
					failures = 0
				}
				if f.CountsAsFailure {
					failures++
				}
				laneErr = f.Err
				due = sql.NullInt64{Int64: millis(f.RetryAt), Valid: true}
			}
		}
		// The lease is ours (holdLease): release it. Without a retry time the lane is due now
		// if messages are left and idle otherwise, decided in the same statement (issue 16:
		// one statement fewer per completion).
		if err := tx.execLater(ctx, nil, `UPDATE lanes SET due_at = COALESCE(CAST(? AS BIGINT), CASE WHEN EXISTS (SELECT 1 FROM messages
				WHERE conversation_id = ? AND direction = ? AND state = 'queued') THEN CAST(? AS BIGINT) END),
			failures = ?, last_error = ?, lease_owner = '', lease_until = 0
			WHERE conversation_id = ? AND direction = ?`,
			due, o.Conversation, o.Direction, now, failures, laneErr, o.Conversation, o.Direction); err != nil {
			return fmt.Errorf("store: release lane: %w", err)
		}
		if !claim || batch <= 0 {
			return nil
		}
		max := Budget{Inbound: 1}
		if o.Direction == normalize.Outbound {
			max = Budget{Outbound: 1}
		}
		lanes, err := s.claimIn(ctx, tx, o.Owner, max, batch, lease, now)
		if err != nil || len(lanes) == 0 {
			return err
		}
		// The attempts the claim counted must be on disk before they are made.
		tx.mustSync()
		next, ok = lanes[0], true
		return nil
	})
	if err != nil {
		return Lane{}, false, err
	}
	return next, ok, nil
}

// markChunk bounds the messages one statement of markDelivered records: 2 parameters each
// stays far below every driver's limit.
const markChunk = 64

// markDelivered records the messages a target accepted and their target IDs, in chunks of up
// to 64 messages per statement rather than two statements per message: an inbound lane's
// batch (up to delivery.batch_size messages) was twice as many statements in the writer, and
// on PostgreSQL as many round trips while the lane's lock is held (issue 16).
func markDelivered(ctx context.Context, tx *wtx, target normalize.InstanceName, delivered []Delivered, now int64) error {
	rows := make([]any, 0, 2*len(delivered))
	ids := make([]any, 0, 3*len(delivered))
	for _, d := range delivered {
		rows = append(rows, d.Seq, string(d.TargetID))
		if d.TargetID != "" {
			ids = append(ids, string(target), string(d.TargetID), string(d.ID))
		}
	}
	// A receipt may have arrived before this record (see MarkState): keep its state.
	// Seq 0 is no message's: a seq counts from 1.
	err := tx.w.d.eachValues([]string{"BIGINT", "TEXT"}, rows, markChunk, []any{int64(0), ""}, func(source string, args []any) error {
		return tx.execLater(ctx, nil, `UPDATE messages SET state = CASE WHEN state = 'queued' THEN ? ELSE state END,
			target_id = v.column2, delivered_at = ?, last_error = ''
			FROM (`+source+`) AS v
			WHERE messages.seq = v.column1 AND messages.state IN ('queued', 'delivered', 'read')`, append([]any{string(normalize.StateSent), now}, args...)...)
	})
	if err != nil {
		return fmt.Errorf("store: mark delivered: %w", err)
	}
	err = tx.w.d.eachChunk([]string{"TEXT", "TEXT", "TEXT"}, ids, markChunk, func(source string, args []any) error {
		return tx.execLater(ctx, nil, `INSERT INTO external_ids (instance, external_id, message_id) `+source+` ON CONFLICT DO NOTHING`, args...)
	})
	if err != nil {
		return fmt.Errorf("store: record target ID: %w", err)
	}
	return nil
}

// chunkOf is how many of left rows the next statement of a multi-row statement takes: the
// largest power of two up to most. Each count is a statement of its own, prepared once and
// kept, and the 7 of 1 to 64 cost less memory than one for every batch size did (about 1.5 MB
// of peak RSS with delivery.batch_size 50).
func chunkOf(left, most int) int {
	return 1 << (bits.Len(uint(min(left, most))) - 1)
}

// rowsOf is n copies of row, comma-separated: the rows of a multi-row VALUES.
func rowsOf(n int, row string) string {
	return strings.Repeat(row+", ", n-1) + row
}

// holdLease checks, in a write transaction, that the lane's lease is still token's, and
// locks the lane's row until the transaction ends: on PostgreSQL a claim by another replica
// waits (or skips the lane) instead of slipping in between the check and the record.
func holdLease(ctx context.Context, tx *wtx, conv normalize.ConversationID, dir normalize.Direction, token int64) error {
	return fencedUpdate(ctx, tx, "check", `UPDATE lanes SET lease_token = lease_token
		WHERE conversation_id = ? AND direction = ? AND lease_token = ?`, conv, dir, token)
}

// Renew extends the lease of a claimed lane to now+lease, so that a delivery that takes
// long keeps its lane; a lease that lapsed but was not claimed again is taken back. It
// returns ErrLeaseLost when the lane was claimed again since the claim of token (the worker
// should give up: the new holder delivers the messages), or released by Complete.
func (s *Store) Renew(ctx context.Context, conv normalize.ConversationID, dir normalize.Direction, token int64, lease time.Duration) error {
	return s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		return fencedUpdate(ctx, tx, "renew", `UPDATE lanes SET lease_until = ?
			WHERE conversation_id = ? AND direction = ? AND lease_token = ? AND lease_until > 0`, conv, dir, token, millis(s.now())+lease.Milliseconds())
	})
}

// fencedUpdate runs query, an update of the lane (conv, dir) conditioned on its lease token,
// with the values set first, and returns ErrLeaseLost when it updated nothing.
func fencedUpdate(ctx context.Context, tx *wtx, what, query string, conv normalize.ConversationID, dir normalize.Direction, token int64, set ...any) error {
	err := tx.execChanging(ctx, func() error {
		return fmt.Errorf("%w (conversation %s, %s, token %d)", ErrLeaseLost, conv, dir, token)
	}, query, append(set, conv, dir, token)...)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("store: %s the lease of %s: %w", what, conv, err)
	}
	return err
}

// NextDue returns when the earliest lane becomes claimable (due, and any lease lapsed), or the
// zero time if none is. Given directions, it looks at lanes of those only: a router whose
// workers of one direction are all busy waits for the other direction's next lane.
func (s *Store) NextDue(ctx context.Context, dirs ...normalize.Direction) (time.Time, error) {
	// A lane the FAQ bot holds is due but not claimable (leaseDueLanes): it must not make the
	// router poll for it.
	query := `SELECT MIN(CASE WHEN due_at > lease_until THEN due_at ELSE lease_until END)
		FROM lanes WHERE due_at IS NOT NULL AND held = ''`
	args := make([]any, len(dirs))
	if len(dirs) > 0 {
		query += " AND direction IN (?" + strings.Repeat(", ?", len(dirs)-1) + ")"
		for i, d := range dirs {
			args[i] = d
		}
	}
	var due sql.NullInt64
	err := s.read.QueryRowContext(ctx, query, args...).Scan(&due)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next due: %w", err)
	}
	if !due.Valid {
		return time.Time{}, nil
	}
	return fromMillis(due.Int64), nil
}

// conversationColumns are a conversation's columns, in the order conversationRow scans them;
// conversationColumnCount counts them.
const conversationColumnCount = 21

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

// slaOf converts the clock's columns; NULL is the zero time.
func slaOf(awaiting, due, breached sql.NullInt64) normalize.SLA {
	at := func(v sql.NullInt64) time.Time {
		if !v.Valid {
			return time.Time{}
		}
		return fromMillis(v.Int64)
	}
	return normalize.SLA{AwaitingSince: at(awaiting), DueAt: at(due), BreachedAt: at(breached)}
}
