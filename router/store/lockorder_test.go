package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// deadlocks counts the deadlocks PostgreSQL broke in one store's transactions. The writer
// retries a transaction the server aborted with deadlock_detected (SQLSTATE 40P01) without a
// word to its caller, so a lock-order regression shows as latency only (a second of
// deadlock_timeout per deadlock), never as an error: the count is what a test can assert on.
// It is the store's own, unlike pg_stat_database.deadlocks, which counts every test sharing
// the database.
type deadlocks struct {
	mu sync.Mutex
	// seen holds each deadlock's server error once: the writer asks retryable about the same
	// error more than once (when the operation returns it, and again before the retry).
	seen map[*pgconn.PgError]struct{}
	n    atomic.Int64
}

// watch makes st's dialect report to d every deadlock error the writer sees. It must run
// before st's first write: the writer's committers read the dialect's retryable only for an
// operation they take from the queue, which the send of that operation orders after this.
func (d *deadlocks) watch(st *Store) {
	d.seen = map[*pgconn.PgError]struct{}{}
	retryable := st.d.retryable
	st.d.retryable = func(err error) bool {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
			d.mu.Lock()
			if _, ok := d.seen[pgErr]; !ok {
				d.seen[pgErr] = struct{}{}
				d.n.Add(1)
			}
			d.mu.Unlock()
		}
		return retryable(err)
	}
}

// A completion that records a conversation's new ticket locks the conversation's row before
// the lane's, as intake does (issue 16, commit c8413b2). In the other order the two deadlocked
// on PostgreSQL whenever a player wrote again while the ticket of their first message was
// being recorded: the completion held the lane and waited for the conversation, the intake
// held the conversation and waited for the lane. Nothing failed (the writer retries), each
// deadlock just cost a second. The test plays that moment over and over on a few
// conversations, an intake racing each completion, and asserts that the server broke no
// deadlock of the store's.
func TestTicketCompletionAndIntakeTakeLocksInOneOrder(t *testing.T) {
	const (
		// convs is how many completion-intake pairs race at once: one operation per
		// committer, so that each pair's two transactions run side by side rather than one
		// after the other in the writer's queue.
		convs = pgWriters / 2
		// workload is how long each case plays rounds (a few dozen of them). With the
		// completion locking the lane first, every run deadlocked within its first four
		// rounds; a deadlock ends the case at once.
		workload = time.Second
		lease    = time.Minute
		handOut  = 50 // messages a claim hands out per lane, as the router's delivery.batch_size
	)
	for _, tc := range []struct {
		name string
		// batch is CompleteNext's: 0 is Complete, which releases the lane; the router's
		// workers go on with it (batch > 0), which reads and leases it again in the
		// completion's transaction.
		batch int
	}{
		{"Complete", 0},
		{"CompleteNext", 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st, err := OpenPostgres(ctx, pgtest.DSN(t), Options{})
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			var dl deadlocks
			dl.watch(st)

			assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
			msg := func(conv, n int) normalize.Message {
				addr := fmt.Sprintf("player-%d", conv)
				return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
					Address: normalize.Address(addr), ExternalID: normalize.ExternalID(fmt.Sprintf("%s-%d", addr, n)),
					Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}
			}
			// index numbers the conversations, each opened by its player's first message.
			index := map[normalize.ConversationID]int{}
			for i := range convs {
				acc, err := st.Intake(ctx, []normalize.Message{msg(i, 0)}, assess)
				require.NoError(t, err)
				index[acc[0].Conversation] = i
			}

			// lanes[i] is conversation i's inbound lane, leased to the test's worker; a lane
			// the last completion released is claimed again.
			lanes := make([]*Lane, convs)
			rounds := 0
			for start := time.Now(); time.Since(start) < workload && dl.n.Load() == 0; rounds++ {
				for try := 0; ; try++ {
					missing := 0
					for _, l := range lanes {
						if l == nil {
							missing++
						}
					}
					if missing == 0 {
						break
					}
					require.Less(t, try, 3, "round %d: %d lanes not claimable", rounds, missing)
					claimed, err := st.Claim(ctx, "worker", Budget{Inbound: missing}, handOut, lease)
					require.NoError(t, err)
					for _, l := range claimed {
						lanes[index[l.Conversation.ID]] = &l
					}
				}
				// Every round's completion records a new ticket: the conversation must have
				// none, or its UPDATE ... WHERE ticket = '' passes over the row without
				// locking it and there is nothing to race.
				_, err := st.write.ExecContext(ctx, `UPDATE conversations SET ticket = ''`)
				require.NoError(t, err)

				// Each conversation's completion and intake start together, so that each
				// takes its first lock while the other is taking its own.
				race := make(chan struct{})
				completeErrs, intakeErrs := make([]error, convs), make([]error, convs)
				next := make([]*Lane, convs)
				var wg sync.WaitGroup
				for i, l := range lanes {
					o := Outcome{Conversation: l.Conversation.ID, Direction: normalize.Inbound, Owner: "worker", Token: l.Token,
						Target: "desk", Ticket: normalize.Ref(fmt.Sprintf("T-%d-%d", i, rounds))}
					for _, p := range l.Pending {
						o.Delivered = append(o.Delivered, Delivered{Seq: p.Seq, ID: p.Message.ID, TargetID: normalize.ExternalID(fmt.Sprintf("post-%d", p.Seq))})
					}
					wg.Go(func() {
						<-race
						n, ok, err := st.CompleteNext(ctx, o, tc.batch, lease)
						if completeErrs[i] = err; ok {
							next[i] = &n
						}
					})
					wg.Go(func() {
						<-race
						_, intakeErrs[i] = st.Intake(ctx, []normalize.Message{msg(i, rounds+1)}, assess)
					})
				}
				close(race)
				wg.Wait()
				for i := range convs {
					require.NoError(t, completeErrs[i], "round %d: complete conversation %d", rounds, i)
					require.NoError(t, intakeErrs[i], "round %d: intake on conversation %d", rounds, i)
				}
				// A completion that handed out the message taken in meanwhile keeps the lane.
				lanes = next
			}
			t.Logf("rounds of %d completions racing an intake: %d", convs, rounds)
			require.Zero(t, dl.n.Load(), "deadlocks PostgreSQL broke between a completion recording a ticket and an intake "+
				"(rounds played: %d): they lock the conversation's and the lane's rows in opposite orders", rounds)
		})
	}
}

// A completion that waits for its lane's lock, held by an intake enqueuing on the lane, sees
// that intake's message when it releases the lane, and leaves the lane due. On PostgreSQL a
// statement reads with the snapshot it started with: a release that checked the lease itself
// (taking the lane's lock last, to hold it for less time) looked for messages left before its
// wait, and idled the lane with a message queued that nothing would hand out again. Found in
// issue 16 by TestTwoReplicasDeliverInOrderWithOneTicket, once in a while; this fails each time.
func TestReleaseAfterWaitingForAnIntakeSeesItsMessage(t *testing.T) {
	ctx := t.Context()
	st, err := OpenPostgres(ctx, pgtest.DSN(t), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	assess := func(normalize.Message) Assessment { return Assessment{Helpdesk: "desk"} }
	msg := func(n int) normalize.Message {
		return normalize.Message{Direction: normalize.Inbound, Source: "chat", Channel: "chat", ChannelKind: normalize.KindLoopback,
			Address: "player", ExternalID: normalize.ExternalID(fmt.Sprintf("m%d", n)),
			Author: normalize.Author{Role: normalize.RolePlayer}, Text: "hello"}
	}
	_, err = st.Intake(ctx, []normalize.Message{msg(1)}, assess)
	require.NoError(t, err)
	claimed, err := st.Claim(ctx, "worker", Budget{Inbound: 1}, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	lane := claimed[0]
	require.Len(t, lane.Pending, 1)

	// An intake of the lane's next message, open, with the lane made due (and locked) as
	// intake makes it.
	sqlTx, err := st.write.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() {
		sqlTx.ExecContext(context.Background(), "ROLLBACK")
		sqlTx.Close()
	})
	_, err = sqlTx.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	intake := &wtx{own: sqlTx, w: st.writer}
	next := msg(2)
	next.ID, next.Conversation = normalize.NewMessageID(), lane.Conversation.ID
	require.NoError(t, enqueue(ctx, intake, next, millis(time.Now())))
	var xid string
	require.NoError(t, sqlTx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid))

	p := lane.Pending[0]
	completed := make(chan error, 1)
	go func() {
		completed <- st.Complete(ctx, Outcome{Conversation: lane.Conversation.ID, Direction: lane.Direction, Owner: "worker",
			Token: lane.Token, Target: "desk", Delivered: []Delivered{{Seq: p.Seq, ID: p.Message.ID, TargetID: "t1"}}})
	}()
	require.Eventually(t, func() bool {
		var waiting bool
		err := st.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1)`, xid).Scan(&waiting)
		return err == nil && waiting
	}, 10*time.Second, 5*time.Millisecond, "the completion waits for the intake's lock on the lane")
	_, err = sqlTx.ExecContext(ctx, "COMMIT")
	require.NoError(t, err)
	require.NoError(t, <-completed)

	claimed, err = st.Claim(ctx, "worker", Budget{Inbound: 1}, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "the lane is due with the intake's message")
	require.Len(t, claimed[0].Pending, 1)
	require.Equal(t, next.ID, claimed[0].Pending[0].Message.ID)
}
