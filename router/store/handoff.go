package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Handoff asks IntakeHandoff to lease the lanes it makes claimable to Owner, as Claim would
// (until now+Lease, up to Batch messages each), at most Max of each direction: the caller's
// free workers.
type Handoff struct {
	Owner string
	Max   Budget
	Batch int
	Lease time.Duration
}

// handOff leases to h.Owner the claimable lanes of the messages just accepted, in the order
// of their first message, within h.Max. The leases are taken in one statement per chunk of
// lanes, not one per lane (issue 16: on PostgreSQL each was a round trip while intake held
// its conversations' rows); each lane leased is then filled (fillLane). A lane leased with
// nothing queued after all (not one of a message just enqueued) is idled, and counts against
// h.Max all the same.
func handOff(ctx context.Context, tx *wtx, msgs []normalize.Message, accepted []Accepted, h Handoff, now int64) ([]Lane, error) {
	if h.Max.Inbound <= 0 && h.Max.Outbound <= 0 {
		return nil, nil
	}
	order := map[laneKey]int{}
	var cands []any
	for i, a := range accepted {
		k := laneKey{a.Conversation, msgs[i].Direction}
		if _, seen := order[k]; a.Duplicate || seen {
			continue
		}
		order[k] = len(order)
		cands = append(cands, string(k.conv), string(k.dir), int64(order[k]))
	}
	left := h.Max
	var lanes []Lane
	// No lane is of conversation "".
	err := tx.w.d.eachValues([]string{"TEXT", "TEXT", "BIGINT"}, cands, markChunk, []any{"", "", int64(-1)}, func(source string, args []any) error {
		if left.Inbound <= 0 && left.Outbound <= 0 {
			return nil
		}
		const claimable = `due_at IS NOT NULL AND due_at <= ? AND lease_until <= ? AND held = ''`
		// Ranking the candidates per direction (the window) costs the most of the statement on
		// SQLite; it is only needed when they are more than the budget.
		chosen := `SELECT column1, column2 FROM (` + source + `) AS v`
		var budget []any
		in, out := directions(args)
		ranked := in > left.Inbound || out > left.Outbound
		if ranked {
			chosen = `SELECT conversation_id, direction FROM (
				SELECT lanes.conversation_id, lanes.direction,
					row_number() OVER (PARTITION BY lanes.direction ORDER BY v.column3) AS n
				FROM (` + source + `) AS v JOIN lanes ON lanes.conversation_id = v.column1 AND lanes.direction = v.column2
				WHERE ` + claimable + `) AS c
				WHERE c.n <= CASE c.direction WHEN 'inbound' THEN CAST(? AS INTEGER) ELSE CAST(? AS INTEGER) END`
			budget = []any{now, now, left.Inbound, left.Outbound}
		}
		where := `(conversation_id, direction) IN (` + chosen + `)`
		if len(args) == 3 && !ranked {
			where, args = `conversation_id = ? AND direction = ?`, args[:2]
		}
		return tx.read(ctx, func(rows rowReader) error {
			for rows.Next() {
				var l Lane
				if err := rows.Scan(&l.Conversation.ID, &l.Direction, &l.Token, &l.Failures); err != nil {
					return err
				}
				if l.Direction == normalize.Inbound {
					left.Inbound--
				} else {
					left.Outbound--
				}
				lanes = append(lanes, l)
			}
			return nil
		}, `UPDATE lanes SET lease_owner = ?, lease_until = ?, lease_token = lease_token + 1
			WHERE `+where+` AND `+claimable+`
			RETURNING conversation_id, direction, lease_token, failures`,
			slices.Concat([]any{h.Owner, now + h.Lease.Milliseconds()}, args, budget, []any{now, now})...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: hand off lanes: %w", err)
	}
	slices.SortFunc(lanes, func(a, b Lane) int {
		return cmp.Compare(order[laneKey{a.Conversation.ID, a.Direction}], order[laneKey{b.Conversation.ID, b.Direction}])
	})
	return fillLanes(ctx, tx, lanes, h.Batch)
}

// directions counts the inbound and outbound lanes among handOff's candidates (conversation,
// direction, order), leaving out the padding.
func directions(cands []any) (in, out int) {
	for i := 1; i < len(cands); i += 3 {
		switch normalize.Direction(cands[i].(string)) {
		case normalize.Inbound:
			in++
		case normalize.Outbound:
			out++
		}
	}
	return in, out
}
