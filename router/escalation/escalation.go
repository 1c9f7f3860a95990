// Package escalation calls the operator's escalation webhook (docs/policy.md, "Escalation"):
// a signed JSON POST when a message signals gambling harm (duty of care) or a first-response
// target is missed. Calls are queued in the store's records (connectors.Records) by the
// intake path and the SLA watcher, never made there, and a sender loop delivers them at
// least once, with retries, under an idempotency key the receiver deduplicates on.
package escalation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
)

// Reasons of an escalation.
const (
	ReasonDutyOfCare = "duty_of_care"
	ReasonSLABreach  = "sla_breach"
	// ReasonSLANearBreach: a response clock passed its near-breach point (docs/policy.md).
	ReasonSLANearBreach = "sla_near_breach"
	ReasonComplex       = "complex"
)

// Event is the X-Gateway-Event of an escalation request.
const Event = "escalation"

// Escalation is the JSON body of a call.
type Escalation struct {
	// Key is the idempotency key, also sent as Idempotency-Key: the same escalation always
	// has the same key, however often it is sent.
	Key          string                   `json:"key"`
	Reason       string                   `json:"reason"`
	Conversation normalize.ConversationID `json:"conversation"`
	Channel      normalize.InstanceName   `json:"channel"`
	Helpdesk     normalize.InstanceName   `json:"helpdesk,omitempty"`
	Ticket       string                   `json:"ticket,omitempty"`
	Player       Player                   `json:"player"`
	Priority     normalize.Priority       `json:"priority"`
	Language     string                   `json:"language,omitempty"`
	// MessageID is the player's message that raised a duty-of-care escalation.
	MessageID normalize.MessageID `json:"message_id,omitempty"`
	// PhraseID and ListVersion name the duty-of-care phrase found and its list's version.
	PhraseID    string `json:"phrase_id,omitempty"`
	ListVersion string `json:"list_version,omitempty"`
	// DueAt is when a missed first-response target ran out.
	DueAt time.Time `json:"due_at,omitzero"`
	At    time.Time `json:"at"`
}

// Player is who the escalation is about, as the gateway knows them.
type Player struct {
	PlayerID string `json:"player_id,omitempty"`
	Name     string `json:"name,omitempty"`
	VIPTier  int    `json:"vip_tier,omitempty"`
	Address  string `json:"address"`
}

// PlayerOf is the player of conversation c.
func PlayerOf(c normalize.Conversation) Player {
	return Player{PlayerID: c.Player.PlayerID, Name: c.Player.DisplayName, VIPTier: c.Player.VIPTier, Address: string(c.Address)}
}

// instance names the records of escalations among connectors' records.
const instance normalize.InstanceName = "escalation"

// Record keys: "q/<key>" waits to be sent; "done/<key>" was sent (or given up), kept for
// keep so that the same escalation queued again in that time is not sent again.
const (
	queued = "q/"
	done   = "done/"
	keep   = 7 * 24 * time.Hour
	// forever is the expiry of a queued call: it waits until it is sent.
	forever = 100 * 365 * 24 * time.Hour
)

type entry struct {
	Escalation Escalation `json:"escalation"`
	Attempts   int        `json:"attempts"`
	NextAt     time.Time  `json:"next_at"`
	LastError  string     `json:"last_error,omitempty"`
}

// Queue puts escalations in the store's records and sends them.
type Queue struct {
	records connectors.Records
	url     string
	secret  []byte
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	wake    chan struct{}
	opts    Options
}

// Options tune the sender.
type Options struct {
	// Poll is how often the queue is read when nothing was queued here; default 1s.
	Poll time.Duration
	// BackoffBase and BackoffMax bound the wait after a failed call; default 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	// Timeout bounds one call; default 10s.
	Timeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// New returns a queue sending to url, signed with secret.
func New(records connectors.Records, url string, secret []byte, opts Options, log *slog.Logger) *Queue {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 5 * time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Queue{records: records, url: url, secret: secret, client: &http.Client{Timeout: opts.Timeout}, now: opts.Now,
		log: log, wake: make(chan struct{}, 1), opts: opts}
}

// Enqueue queues e unless an escalation of the same key is queued or was sent in the past
// week. It writes one record and makes no call.
func (q *Queue) Enqueue(ctx context.Context, e Escalation) error {
	for _, prefix := range []string{done, queued} {
		if _, ok, err := q.records.Record(ctx, instance, prefix+e.Key); err != nil {
			return fmt.Errorf("escalation %s: %w", e.Key, err)
		} else if ok {
			return nil
		}
	}
	if e.At.IsZero() {
		e.At = q.now()
	}
	if err := q.put(ctx, queued+e.Key, entry{Escalation: e, NextAt: e.At}, e.At.Add(forever)); err != nil {
		return err
	}
	q.Wake()
	return nil
}

// Staged is an escalation's queue record for a store to write in the transaction of the
// change that raised it (the SLA's stages), so that no crash comes between the two: written
// unless a record of Done is present (the same escalation sent in the past week).
type Staged struct {
	Instance   normalize.InstanceName
	Key, Value string
	Done       string
	Expires    time.Time
}

// Stage is e's queue record, as Enqueue would write it, without writing it; Wake tells the
// sender once the store wrote it.
func (q *Queue) Stage(e Escalation) (Staged, error) {
	if e.At.IsZero() {
		e.At = q.now()
	}
	v, err := json.Marshal(entry{Escalation: e, NextAt: e.At})
	if err != nil {
		return Staged{}, fmt.Errorf("escalation %s: %w", e.Key, err)
	}
	return Staged{Instance: instance, Key: queued + e.Key, Value: string(v), Done: done + e.Key, Expires: e.At.Add(forever)}, nil
}

// Wake has the sender read the queue now rather than at its next poll.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) put(ctx context.Context, key string, en entry, expires time.Time) error {
	v, err := json.Marshal(en)
	if err != nil {
		return fmt.Errorf("escalation %s: %w", en.Escalation.Key, err)
	}
	if err := q.records.PutRecord(ctx, instance, key, string(v), expires); err != nil {
		return fmt.Errorf("escalation %s: %w", en.Escalation.Key, err)
	}
	return nil
}

// Run sends queued escalations until ctx ends. Every replica may run it: two replicas may
// then both send one escalation, which its idempotency key lets the receiver drop.
func (q *Queue) Run(ctx context.Context) {
	for ctx.Err() == nil {
		next := q.sendDue(ctx)
		wait := q.opts.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(q.now()), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendDue sends every queued escalation that is due and returns when the earliest other one
// is, or the zero time.
func (q *Queue) sendDue(ctx context.Context) time.Time {
	var next time.Time
	after := ""
	for {
		recs, err := q.records.ListRecords(ctx, instance, queued, after, 100)
		if err != nil {
			if ctx.Err() == nil {
				q.log.Error("escalation: read the queue", "err", err)
			}
			return next
		}
		for _, rec := range recs {
			after = rec.Key
			var en entry
			if err := json.Unmarshal([]byte(rec.Value), &en); err != nil {
				q.log.Error("escalation: unreadable queue record dropped", "key", rec.Key, "err", err)
				_ = q.records.DeleteRecord(ctx, instance, rec.Key)
				continue
			}
			if en.NextAt.After(q.now()) {
				if next.IsZero() || en.NextAt.Before(next) {
					next = en.NextAt
				}
				continue
			}
			if at := q.attempt(ctx, en); !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
		if len(recs) < 100 {
			return next
		}
	}
}

// attempt sends en once and records the outcome; it returns when en is due again, or the
// zero time when it is done.
func (q *Queue) attempt(ctx context.Context, en entry) time.Time {
	e := en.Escalation
	err := q.send(ctx, e)
	en.Attempts++
	var permanent *permanentError
	switch {
	case err == nil || errors.As(err, &permanent):
		if err != nil {
			q.log.Error("escalation refused, not retried", "key", e.Key, "reason", e.Reason, "conv", e.Conversation, "err", err)
		} else {
			q.log.Info("escalation sent", "key", e.Key, "reason", e.Reason, "conv", e.Conversation, "attempts", en.Attempts)
		}
		// done first: a crash between the two leaves a done record and a queued one, which
		// is sent once more (at least once), never lost.
		if perr := q.put(ctx, done+e.Key, en, q.now().Add(keep)); perr != nil {
			q.log.Error("escalation: record sent", "key", e.Key, "err", perr)
			return q.now().Add(q.opts.Poll)
		}
		if derr := q.records.DeleteRecord(ctx, instance, queued+e.Key); derr != nil {
			q.log.Error("escalation: unqueue", "key", e.Key, "err", derr)
		}
		return time.Time{}
	default:
		d := q.opts.BackoffBase << min(en.Attempts-1, 20)
		if d <= 0 || d > q.opts.BackoffMax {
			d = q.opts.BackoffMax
		}
		d = d/2 + rand.N(d/2+1)
		en.NextAt, en.LastError = q.now().Add(d), err.Error()
		q.log.Warn("escalation failed, will retry", "key", e.Key, "reason", e.Reason, "conv", e.Conversation,
			"attempts", en.Attempts, "retry_at", en.NextAt, "err", err)
		if perr := q.put(ctx, queued+e.Key, en, en.NextAt.Add(forever)); perr != nil {
			q.log.Error("escalation: record attempt", "key", e.Key, "err", perr)
		}
		return en.NextAt
	}
}

type permanentError struct{ status int }

func (e *permanentError) Error() string { return "HTTP " + strconv.Itoa(e.status) }

// send posts e once: 2xx is done, 408, 429 and 5xx are retried, any other status is refused
// for good (the receiver will not take it however often it comes).
func (q *Queue) send(ctx context.Context, e Escalation) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	now := q.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, Event)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(q.secret, now, body))
	req.Header.Set(webhook.HeaderIdempotencyKey, e.Key)
	resp, err := q.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return fmt.Errorf("HTTP %d", s)
	default:
		return &permanentError{status: s}
	}
}
