package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// of their first message, within h.Max.
func handOff(ctx context.Context, tx *wtx, msgs []normalize.Message, accepted []Accepted, h Handoff, now int64) ([]Lane, error) {
	if h.Max.Inbound <= 0 && h.Max.Outbound <= 0 {
		return nil, nil
	}
	left := map[normalize.Direction]int{normalize.Inbound: h.Max.Inbound, normalize.Outbound: h.Max.Outbound}
	seen := map[laneKey]bool{}
	var lanes []Lane
	for i, a := range accepted {
		k := laneKey{a.Conversation, msgs[i].Direction}
		if a.Duplicate || seen[k] || left[k.dir] <= 0 {
			continue
		}
		seen[k] = true
		l := Lane{Conversation: normalize.Conversation{ID: k.conv}, Direction: k.dir}
		err := tx.QueryRowContext(ctx, `UPDATE lanes SET lease_owner = ?, lease_until = ?, lease_token = lease_token + 1
			WHERE conversation_id = ? AND direction = ? AND due_at IS NOT NULL AND due_at <= ? AND lease_until <= ? AND held = ''
			RETURNING lease_token, failures`, h.Owner, now+h.Lease.Milliseconds(), k.conv, k.dir, now, now).Scan(&l.Token, &l.Failures)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: hand off lane: %w", err)
		}
		found, err := fillLane(ctx, tx, &l, h.Batch)
		if err != nil {
			return nil, err
		}
		if !found {
			// Nothing queued after all (not for a message just enqueued; kept as Claim keeps it).
			if err := idleLane(ctx, tx, k.conv, k.dir); err != nil {
				return nil, err
			}
			continue
		}
		left[k.dir]--
		lanes = append(lanes, l)
	}
	return lanes, nil
}
