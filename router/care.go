package router

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/dutyofcare"
	"github.com/casino-support/gateway/router/escalation"
	"github.com/casino-support/gateway/router/store"
)

// DutyOfCare finds the signals of gambling harm or distress in a player's words;
// dutyofcare.Matcher implements it.
type DutyOfCare interface {
	Match(text string) (dutyofcare.Hit, bool)
}

// Escalations queues calls of the escalation webhook, durably and without calling it;
// escalation.Queue implements it.
type Escalations interface {
	Enqueue(ctx context.Context, e escalation.Escalation) error
}

// TagResponsibleGambling marks a conversation a duty-of-care phrase was found in. It stays on
// the conversation: whatever answers players automatically (the FAQ bot) must leave a
// conversation with this tag to a human.
const TagResponsibleGambling = "responsible-gambling"

// dedupKey names a message before the store gives it an ID.
type dedupKey struct {
	source normalize.InstanceName
	id     normalize.ExternalID
}

// careStore is the router's store with duty of care on intake: players' messages that
// signal harm make their conversation urgent and tagged in the same transaction, and queue
// an escalation once stored. Wrapping Intake keeps the policy out of the store and the
// delivery path unchanged.
type careStore struct {
	Store
	care DutyOfCare
	esc  Escalations
	log  *slog.Logger
}

// withCare returns st with duty of care when opts ask for it.
func withCare(st Store, opts Options, log *slog.Logger) Store {
	if opts.DutyOfCare == nil {
		return st
	}
	return careStore{Store: st, care: opts.DutyOfCare, esc: opts.Escalations, log: log}
}

// Intake stores msgs like the store's, assessing those that signal harm as urgent and
// tagged, and then queues their escalations. A failure to queue is Intake's failure: the
// channel keeps the messages unacknowledged and delivers them again, intake finds them
// stored, and the queueing is tried again, so the escalation is at least once.
func (s careStore) Intake(ctx context.Context, msgs []normalize.Message, assess store.Assess) ([]store.Accepted, error) {
	accepted, _, err := s.IntakeHandoff(ctx, msgs, assess, store.Handoff{})
	return accepted, err
}

// IntakeHandoff is Intake handing the claimable lanes over (store.Store.IntakeHandoff).
func (s careStore) IntakeHandoff(ctx context.Context, msgs []normalize.Message, assess store.Assess, h store.Handoff) ([]store.Accepted, []store.Lane, error) {
	hits := map[dedupKey]dutyofcare.Hit{}
	for _, m := range msgs {
		if m.Direction != normalize.Inbound || m.Author.Role != normalize.RolePlayer {
			continue
		}
		if hit, ok := s.care.Match(playerWords(m)); ok {
			hits[dedupKey{m.Source, m.ExternalID}] = hit
		}
	}
	if len(hits) == 0 {
		return s.Store.IntakeHandoff(ctx, msgs, assess, h)
	}
	accepted, lanes, err := s.Store.IntakeHandoff(ctx, msgs, func(m normalize.Message) store.Assessment {
		a := assess(m)
		if _, ok := hits[dedupKey{m.Source, m.ExternalID}]; ok {
			a.Priority, a.Tags = normalize.PriorityUrgent, append(a.Tags, TagResponsibleGambling)
			a.Hold = "" // never the FAQ bot's: a person answers from the first message
		}
		return a
	}, h)
	if err != nil {
		return accepted, lanes, err
	}
	for i, m := range msgs {
		hit, ok := hits[dedupKey{m.Source, m.ExternalID}]
		if !ok {
			continue
		}
		a := accepted[i]
		s.log.Warn("duty of care: harm signalled", "conv", a.Conversation, "msg_id", a.ID, "phrase", hit.PhraseID, "list_version", hit.Version)
		if s.esc == nil {
			continue
		}
		c, err := s.Store.Conversation(ctx, a.Conversation)
		if err != nil {
			return accepted, lanes, fmt.Errorf("duty-of-care escalation of %s: %w", a.Conversation, err)
		}
		e := escalation.Escalation{Key: "duty_of_care-" + string(a.ID), Reason: escalation.ReasonDutyOfCare, Conversation: c.ID,
			Channel: c.Channel, Helpdesk: c.Helpdesk, Ticket: string(c.Ticket), Player: escalation.PlayerOf(c), Priority: c.Priority,
			Language: c.Language, MessageID: a.ID, PhraseID: hit.PhraseID, ListVersion: hit.Version}
		if err := s.esc.Enqueue(ctx, e); err != nil {
			return accepted, lanes, fmt.Errorf("duty-of-care escalation of %s: %w", a.Conversation, err)
		}
	}
	return accepted, lanes, nil
}
