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
		// A completion that may go on with its lane renews the lease in the same statement
		// (issue 16: one statement fewer); one that releases it overwrites the renewal.
		goOn := batch > 0 && o.Failure == nil && !claim && !o.Keep
		renewTo := int64(0)
		if goOn {
			renewTo = now + lease.Milliseconds()
		}
		if err := recordDelivery(ctx, tx, o, renewTo, now); err != nil {
			return err
		}
		if o.Keep {
			return nil
		}
		if goOn {
			l := Lane{Conversation: normalize.Conversation{ID: o.Conversation}, Direction: o.Direction, Token: o.Token}
			found, err := fillLane(ctx, tx, &l, batch)
			if err != nil {
				return err
			}
			if found {
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

// recordDelivery holds the lane's lease (holdLease, renewing it with renewTo) and records
// what o delivered (markDelivered). Where the server refuses a fence itself
// (dialect.mustChange) it is one statement, the delivered update and the target IDs as
// writable WITH queries of the fence: three statements on PostgreSQL were most of what a
// completion cost the server, each planned, locked and executed (issue 16). The fence runs
// first, the main query reading it, so the lane's row is locked before the messages' as before.
func recordDelivery(ctx context.Context, tx *wtx, o Outcome, renewTo, now int64) error {
	if tx.conn == nil || tx.w.d.mustChange == nil || len(o.Delivered) == 0 || len(o.Delivered) > markChunk {
		if err := holdLease(ctx, tx, o.Conversation, o.Direction, o.Token, renewTo); err != nil {
			return err
		}
		return markDelivered(ctx, tx, o.Target, o.Delivered, now)
	}
	rows := make([]any, 0, 3*len(o.Delivered))
	for _, d := range o.Delivered {
		rows = append(rows, d.Seq, string(d.TargetID), string(d.ID))
	}
	what, fence, set := leaseFence(renewTo)
	args := append(set, o.Conversation, o.Direction, o.Token)
	// One chunk (len(o.Delivered) <= markChunk), padded with a row that matches no message
	// and names no target ID.
	return tx.w.d.eachValues([]string{"BIGINT", "TEXT", "TEXT"}, rows, markChunk, []any{int64(0), "", ""}, func(source string, vals []any) error {
		with := `, v AS (` + source + `),
			delivered AS (` + deliveredUpdate(`v`) + `),
			ids AS (INSERT INTO external_ids (instance, external_id, message_id)
				SELECT ?, column2, column3 FROM v WHERE column2 <> '' ON CONFLICT DO NOTHING)`
		err := tx.execChangingWith(ctx, leaseLost(o.Conversation, o.Direction, o.Token),
			fence, with, slices.Concat(args, vals, []any{string(normalize.StateSent), now, string(o.Target)})...)
		if err != nil {
			return fmt.Errorf("store: %s the lease of %s and record its delivery: %w", what, o.Conversation, err)
		}
		return nil
	})
}

// deliveredUpdate records the messages of the rows v (seq, target ID, ...) as sent at a time,
// its two parameters: a receipt may have arrived before this record (see MarkState), and
// its state is kept.
func deliveredUpdate(v string) string {
	return `UPDATE messages SET state = CASE WHEN state = 'queued' THEN ? ELSE state END,
		target_id = v.column2, delivered_at = ?, last_error = ''
		FROM ` + v + ` WHERE messages.seq = v.column1 AND messages.state IN ('queued', 'delivered', 'read')`
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
	// Seq 0 is no message's: a seq counts from 1.
	err := tx.w.d.eachValues([]string{"BIGINT", "TEXT"}, rows, markChunk, []any{int64(0), ""}, func(source string, args []any) error {
		return tx.execLater(ctx, nil, deliveredUpdate(`(`+source+`) AS v`), append([]any{string(normalize.StateSent), now}, args...)...)
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
// waits (or skips the lane) instead of slipping in between the check and the record. With
// renewTo it also renews the lease until then and clears the lane's failures, as a
// successful delivery that goes on with its lane does.
func holdLease(ctx context.Context, tx *wtx, conv normalize.ConversationID, dir normalize.Direction, token, renewTo int64) error {
	what, query, set := leaseFence(renewTo)
	return fencedUpdate(ctx, tx, what, query, conv, dir, token, set...)
}

// leaseFence is holdLease's update, its name in errors and the values it sets (before the
// lane and the token).
func leaseFence(renewTo int64) (what, query string, set []any) {
	if renewTo > 0 {
		return "renew", `UPDATE lanes SET failures = 0, last_error = '', lease_until = ?
			WHERE conversation_id = ? AND direction = ? AND lease_token = ?`, []any{renewTo}
	}
	return "check", `UPDATE lanes SET lease_token = lease_token
		WHERE conversation_id = ? AND direction = ? AND lease_token = ?`, nil
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
	err := tx.execChanging(ctx, leaseLost(conv, dir, token), query, append(set, conv, dir, token)...)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("store: %s the lease of %s: %w", what, conv, err)
	}
	return err
}

// leaseLost is the error of a fence that found the lane's lease no longer token's.
func leaseLost(conv normalize.ConversationID, dir normalize.Direction, token int64) func() error {
	return func() error {
		return fmt.Errorf("%w (conversation %s, %s, token %d)", ErrLeaseLost, conv, dir, token)
	}
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
