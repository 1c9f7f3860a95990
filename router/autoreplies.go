package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// The gateway's own replies to players (router/autoreply decides and words them): they are
// stored as outbound messages of the conversation, under a dedup key derived from the
// conversation, so whichever replica, retry or restart stores one first, it is stored and
// sent once.

// outOfHours stores the out-of-hours notices that players' messages written outside business
// hours call for, duplicates included: a channel delivers a message again when Deliver
// failed, and then the notice that could not be stored the first time is. A failure is
// Deliver's, so the channel keeps the messages and delivers them again.
func (r *Router) outOfHours(ctx context.Context, msgs []normalize.Message, accepted []store.Accepted) error {
	ar := r.opts.AutoReplies
	if ar == nil {
		return nil
	}
	now := r.clock.Now()
	done := map[normalize.ExternalID]bool{}
	for i, m := range msgs {
		if m.Direction != normalize.Inbound || m.Author.Role != normalize.RolePlayer || !playerWrote(m.Kind) {
			continue
		}
		opens, closed := ar.Closed(m, writtenAt(m, now))
		if !closed {
			continue
		}
		conv, err := r.store.Conversation(ctx, accepted[i].Conversation)
		if err != nil {
			return fmt.Errorf("out-of-hours notice of %s: %w", accepted[i].Conversation, err)
		}
		reply, ok := ar.OutOfHours(conv, opens, now)
		if !ok || done[reply.ExternalID] {
			continue
		}
		done[reply.ExternalID] = true
		if err := r.storeAutoReply(ctx, conv, reply); err != nil {
			return fmt.Errorf("out-of-hours notice of %s: %w", conv.ID, err)
		}
	}
	return nil
}

// playerWrote reports whether a player's message of kind says something support answers:
// not a reaction to, edit or deletion of something said, nor an event.
func playerWrote(kind normalize.MessageKind) bool {
	switch kind {
	case normalize.KindReaction, normalize.KindEdit, normalize.KindDeletion, normalize.KindSystem:
		return false
	}
	return true
}

// writtenAt is when the player wrote m: the channel's timestamp when it is plausible, so
// that a message delivered again later (after a failed Deliver) falls in the same
// out-of-hours period and finds its notice stored; else now.
func writtenAt(m normalize.Message, now time.Time) time.Time {
	if m.SentAt.IsZero() || m.SentAt.After(now.Add(time.Minute)) || m.SentAt.Before(now.Add(-24*time.Hour)) {
		return now
	}
	return m.SentAt
}

// storeAutoReply stores reply of conv; a duplicate (another replica, an earlier attempt
// stored it) is no error and is not counted again.
func (r *Router) storeAutoReply(ctx context.Context, conv normalize.Conversation, reply normalize.Message) error {
	accepted, err := r.store.Intake(ctx, []normalize.Message{reply}, r.assess)
	if err != nil {
		return err
	}
	if len(accepted) == 1 && !accepted[0].Duplicate {
		r.opts.AutoReplies.Stored(conv, reply)
		r.poke()
	}
	return nil
}

// awaitTicket records, before conv's messages first go to its helpdesk, that its
// acknowledgement waits for the ticket; a record that cannot be written only loses the
// acknowledgement of a helpdesk that gives no ticket, so it is logged and the post goes on.
func (r *Router) awaitTicket(ctx context.Context, conv normalize.Conversation) {
	ar := r.opts.AutoReplies
	if ar == nil || conv.Ticket != "" || !ar.Acknowledges(conv) {
		return
	}
	if err := ar.Waiting(ctx, conv, r.clock.Now()); err != nil {
		r.log.Warn("auto-reply: cannot record the acknowledgement waiting for the ticket", "conv", conv.ID, "err", err)
	}
}

// ticketed acknowledges conv once its helpdesk made the ticket, with the reference.
func (r *Router) ticketed(ctx context.Context, lane store.Lane, o store.Outcome) {
	if r.opts.AutoReplies == nil || lane.Direction != normalize.Inbound || o.Ticket == "" || lane.Conversation.Ticket != "" {
		return
	}
	conv := lane.Conversation
	conv.Ticket = o.Ticket
	r.acknowledge(ctx, conv)
}

// acknowledge stores conv's acknowledgement and forgets that it waits. When it cannot be
// stored, the record stays and watchAcknowledgements tries again after the wait.
func (r *Router) acknowledge(ctx context.Context, conv normalize.Conversation) {
	ar := r.opts.AutoReplies
	if ar.Acknowledges(conv) {
		if err := r.storeAutoReply(ctx, conv, ar.Acknowledgement(conv, r.clock.Now())); err != nil {
			r.log.Warn("auto-reply: acknowledgement not stored; tried again later", "conv", conv.ID, "err", err)
			return
		}
	}
	if err := ar.Done(ctx, conv.ID); err != nil {
		r.log.Warn("auto-reply: acknowledgement stored, its waiting record stays until it expires", "conv", conv.ID, "err", err)
	}
}

// watchAcknowledgements acknowledges, until ctx ends, the conversations whose ticket did not
// come within the wait (a slow or failing helpdesk, one that gives no reference, a replica
// that crashed between the ticket and the acknowledgement): with the reference when the
// ticket came meanwhile, without it otherwise. Every replica looks; the dedup key makes
// the acknowledgement once.
func (r *Router) watchAcknowledgements(ctx context.Context) {
	if r.opts.AutoReplies == nil {
		return
	}
	for ctx.Err() == nil {
		due, err := r.opts.AutoReplies.Due(ctx, r.clock.Now(), 100)
		if err != nil && ctx.Err() == nil {
			r.log.Error("auto-reply: read the waiting acknowledgements", "err", err)
		}
		for _, id := range due {
			conv, err := r.store.Conversation(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				_ = r.opts.AutoReplies.Done(ctx, id) // deleted by retention meanwhile
			case err != nil:
				if ctx.Err() == nil {
					r.log.Error("auto-reply: read a conversation waiting for its acknowledgement", "conv", id, "err", err)
				}
			default:
				r.acknowledge(ctx, conv)
			}
		}
		t := r.clock.NewTimer(r.opts.PollInterval)
		select {
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
}
