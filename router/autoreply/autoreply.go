// Package autoreply writes the gateway's own replies to players (docs/policy.md,
// "Auto-replies"): one acknowledgement per conversation, with the helpdesk's ticket
// reference where it gives one, and a notice outside business hours saying when support
// opens again, in the conversation's language.
//
// It decides and words them; the router stores them as outbound messages of the
// conversation with a dedup key derived from the conversation (and, for the notice, from
// the out-of-hours period), so the store's dedup on (source, external ID) makes each once
// across retries, crashes and replicas. The acknowledgement waits for the helpdesk's ticket;
// a conversation whose ticket is slow to come is remembered in the store's records
// (connectors.Records) and acknowledged without the reference after a short wait.
package autoreply

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/calendar"
)

// Kinds of auto-reply, the label of the metric.
const (
	KindAcknowledgement = "acknowledgement"
	KindOutOfHours      = "out_of_hours"
)

// External IDs of auto-replies begin with this; helpdesks' own IDs (numbers, UUIDs, mail
// Message-IDs) never do, so they cannot collide with a reply's dedup key.
const externalPrefix = "gateway-autoreply-"

// TagResponsibleGambling is router.TagResponsibleGambling (the router imports this package):
// a conversation so tagged gets no out-of-hours notice, as whatever answers players
// automatically must leave it to a human.
const TagResponsibleGambling = "responsible-gambling"

// Rule says which auto-replies the players of some channel kinds and VIP tiers get.
type Rule struct {
	// Kinds are the channel types it applies to; empty is any.
	Kinds []normalize.ChannelKind
	// MinVIP is the lowest VIP tier it applies to; 0 is any player.
	MinVIP int
	// Acknowledgement and OutOfHours turn the replies on.
	Acknowledgement bool
	OutOfHours      bool
	// Hours is the business-hours calendar of the out-of-hours notice; required with it.
	Hours *calendar.Calendar
}

func (r Rule) matches(kind normalize.ChannelKind, vip int) bool {
	return (len(r.Kinds) == 0 || slices.Contains(r.Kinds, kind)) && vip >= r.MinVIP
}

// Options configure the replies.
type Options struct {
	// Rules are tried in order, the first matching a conversation's channel type and VIP
	// tier decides; a conversation none matches gets no auto-reply.
	Rules []Rule
	// Texts override the built-in texts by language, field by field; a language without
	// built-in texts needs all three.
	Texts map[string]Texts
	// Wait is how long the acknowledgement waits for the helpdesk's ticket reference before
	// it goes without one; default 30s.
	Wait time.Duration
}

// Replies decides and words the auto-replies. It is safe for concurrent use.
type Replies struct {
	rules   []Rule
	texts   map[string]Texts
	wait    time.Duration
	records connectors.Records
	sent    *prometheus.CounterVec
	log     *slog.Logger
}

// recordsInstance is the records' instance of the acknowledgements waiting for a ticket.
const recordsInstance normalize.InstanceName = "autoreply"

// pendingPrefix begins the key of a waiting acknowledgement's record: "ack/" + conversation.
const pendingPrefix = "ack/"

// New checks opts and returns the replies; errors name the text or rule at fault.
func New(records connectors.Records, opts Options, reg prometheus.Registerer, log *slog.Logger) (*Replies, error) {
	if opts.Wait <= 0 {
		opts.Wait = 30 * time.Second
	}
	texts := map[string]Texts{}
	for lang, t := range Builtin {
		texts[lang] = t
	}
	for lang, o := range opts.Texts {
		key := primary(lang)
		t := texts[key]
		for _, f := range []struct {
			name      string
			over, cur *string
		}{{"acknowledgement", &o.Acknowledgement, &t.Acknowledgement},
			{"acknowledgement_ticket", &o.AcknowledgementTicket, &t.AcknowledgementTicket},
			{"out_of_hours", &o.OutOfHours, &t.OutOfHours}} {
			if strings.TrimSpace(*f.over) != "" {
				if err := checkText(f.name, *f.over); err != nil {
					return nil, fmt.Errorf("texts.%s.%s: %w", lang, f.name, err)
				}
				*f.cur = *f.over
			}
			if *f.cur == "" {
				return nil, fmt.Errorf("texts.%s.%s: required: %q has no built-in texts", lang, f.name, key)
			}
		}
		texts[key] = t
	}
	for i, r := range opts.Rules {
		if r.OutOfHours && r.Hours == nil {
			return nil, fmt.Errorf("rules[%d].hours: required with out_of_hours", i)
		}
		if r.MinVIP < 0 {
			return nil, fmt.Errorf("rules[%d].min_vip: must not be negative", i)
		}
	}
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_autoreplies_total",
		Help: "Auto-replies the gateway stored for players, by kind (acknowledgement, out_of_hours) and channel; each is stored once however often it is decided.",
	}, []string{"kind", "channel"})
	if reg != nil {
		reg.MustRegister(sent)
	}
	return &Replies{rules: opts.Rules, texts: texts, wait: opts.Wait, records: records, sent: sent, log: log}, nil
}

// rule is the first rule for kind and vip, or false.
func (a *Replies) rule(kind normalize.ChannelKind, vip int) (Rule, bool) {
	for _, r := range a.rules {
		if r.matches(kind, vip) {
			return r, true
		}
	}
	return Rule{}, false
}

// Texts returns the texts of lang's primary subtag, English when there are none.
func (a *Replies) Texts(lang string) Texts {
	if t, ok := a.texts[primary(lang)]; ok {
		return t
	}
	return a.texts[Fallback]
}

// Acknowledges reports whether conv gets an acknowledgement at all.
func (a *Replies) Acknowledges(conv normalize.Conversation) bool {
	r, ok := a.rule(conv.ChannelKind, conv.Player.VIPTier)
	return ok && r.Acknowledgement
}

// Acknowledgement is conv's acknowledgement, with its ticket reference when it has one. Its
// dedup key is the conversation's alone: whichever replica or retry stores it first, with or
// without the reference, it is stored once.
func (a *Replies) Acknowledgement(conv normalize.Conversation, now time.Time) normalize.Message {
	t := a.Texts(conv.Language)
	text := t.Acknowledgement
	if conv.Ticket != "" {
		text = strings.ReplaceAll(t.AcknowledgementTicket, "{ticket}", string(conv.Ticket))
	}
	return a.message(conv, "ack-"+string(conv.ID), text, now)
}

// Closed reports, for a player's message m written at, whether it falls outside the
// business hours of its rule, and when they open again; the message's kind and author's VIP
// tier pick the rule, so most messages are answered without reading the conversation.
func (a *Replies) Closed(m normalize.Message, at time.Time) (opens time.Time, closed bool) {
	r, ok := a.rule(m.ChannelKind, m.Author.VIPTier)
	if !ok || !r.OutOfHours || r.Hours.Open(at) {
		return time.Time{}, false
	}
	opens, ok = r.Hours.NextOpen(at)
	if !ok {
		// A calendar that never opens would promise nothing: say nothing rather than a date.
		return time.Time{}, false
	}
	return opens, true
}

// OutOfHours is the notice to conv that support opens at opens, or false when conv gets none
// (a conversation tagged responsible-gambling is left to a human). Its dedup key names the
// opening: one notice per conversation per out-of-hours period, however many messages the
// player writes in it.
func (a *Replies) OutOfHours(conv normalize.Conversation, opens, now time.Time) (normalize.Message, bool) {
	if slices.Contains(conv.Tags, TagResponsibleGambling) {
		return normalize.Message{}, false
	}
	text := strings.ReplaceAll(a.Texts(conv.Language).OutOfHours, "{opens}", FormatOpening(conv.Language, opens))
	return a.message(conv, "ooh-"+string(conv.ID)+"-"+strconv.FormatInt(opens.Unix(), 10), text, now), true
}

// message is an auto-reply to conv: an outbound message of its helpdesk (the store finds an
// outbound message's conversation by its helpdesk), written by the gateway (RoleSystem, so it
// stops no first-response clock), marked AutoReply for the channels that flag such mail.
func (a *Replies) message(conv normalize.Conversation, key, text string, now time.Time) normalize.Message {
	return normalize.Message{Direction: normalize.Outbound, Source: conv.Helpdesk,
		ExternalID: normalize.ExternalID(externalPrefix + key), Conversation: conv.ID,
		Author: normalize.Author{Role: normalize.RoleSystem}, Kind: normalize.KindText, Text: text, AutoReply: true, SentAt: now}
}

// Kind names what auto-reply m is, for the metric and the log; "" when it is none.
func Kind(m normalize.Message) string {
	id := string(m.ExternalID)
	switch {
	case !m.AutoReply || !strings.HasPrefix(id, externalPrefix):
		return ""
	case strings.HasPrefix(id, externalPrefix+"ack-"):
		return KindAcknowledgement
	case strings.HasPrefix(id, externalPrefix+"ooh-"):
		return KindOutOfHours
	}
	return ""
}

// Stored counts and logs an auto-reply the store took (not a duplicate of one it had).
func (a *Replies) Stored(conv normalize.Conversation, m normalize.Message) {
	kind := Kind(m)
	a.sent.WithLabelValues(kind, string(conv.Channel)).Inc()
	a.log.Info("auto-reply queued", "kind", kind, "conv", conv.ID, "channel", conv.Channel, "language", conv.Language,
		"ticket", conv.Ticket, "external_id", m.ExternalID)
}

// Waiting records that conv's acknowledgement waits for its ticket, until now+Wait, unless
// it is recorded already. The router calls it before it first posts a conversation to the
// helpdesk, so a conversation whose ticket comes late (or never: a helpdesk that gives no
// reference) is acknowledged all the same, by whichever replica looks first.
func (a *Replies) Waiting(ctx context.Context, conv normalize.Conversation, now time.Time) error {
	key := pendingPrefix + string(conv.ID)
	if _, found, err := a.records.Record(ctx, recordsInstance, key); err != nil || found {
		return err
	}
	due := now.Add(a.wait)
	// Kept well past the due time: a gateway down for a while still acknowledges on return.
	return a.records.PutRecord(ctx, recordsInstance, key, strconv.FormatInt(due.UnixMilli(), 10), due.Add(24*time.Hour))
}

// Due returns up to limit conversations whose acknowledgement waited its time by now.
func (a *Replies) Due(ctx context.Context, now time.Time, limit int) ([]normalize.ConversationID, error) {
	var out []normalize.ConversationID
	after := ""
	for len(out) < limit {
		recs, err := a.records.ListRecords(ctx, recordsInstance, pendingPrefix, after, 200)
		if err != nil {
			return out, fmt.Errorf("autoreply: list waiting acknowledgements: %w", err)
		}
		for _, r := range recs {
			due, err := strconv.ParseInt(r.Value, 10, 64)
			if err != nil || due <= now.UnixMilli() {
				out = append(out, normalize.ConversationID(strings.TrimPrefix(r.Key, pendingPrefix)))
			}
		}
		if len(recs) < 200 {
			break
		}
		after = recs[len(recs)-1].Key
	}
	return out[:min(len(out), limit)], nil
}

// Done forgets that conv's acknowledgement waits: it is stored, or never will be.
func (a *Replies) Done(ctx context.Context, conv normalize.ConversationID) error {
	if err := a.records.DeleteRecord(ctx, recordsInstance, pendingPrefix+string(conv)); err != nil {
		return fmt.Errorf("autoreply: forget the waiting acknowledgement of %s: %w", conv, err)
	}
	return nil
}
