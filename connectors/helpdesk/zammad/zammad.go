// Package zammad connects the gateway to Zammad through its REST API (v1) with an access
// token. A conversation becomes a ticket whose customer is the player, found or created by
// e-mail when the player has one, else by a login of channel and address (never a made-up
// address that could receive mail). The first message opens the ticket as the customer's
// article; each later one is an article written as the customer (the From header), so Zammad
// shows it as the customer's and reopens a closed ticket on it. Files go base64 inside the
// article, as Zammad's API takes them.
//
// Agents' public replies, state and owner changes come back from the ticket's articles and
// history, which the connector reads when a Zammad trigger's webhook calls /hooks/{instance}
// (X-Hub-Signature, HMAC-SHA1, see hook.go) or when its poller finds the ticket changed
// (poll.go). Internal notes, the customer's articles and the articles the gateway wrote are
// passed over (see events.go).
//
// Nothing is doubled: a ticket carries the conversation in a custom attribute and is looked
// up among the customer's tickets before one is created, and every posted article ends with
// a marker line naming the gateway's message ID, which a retry looks for before it posts the
// message again (see post.go). Zammad has no idempotency key, so the look-ups are the guard.
package zammad

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the connector uses from the gateway.
type Deps struct {
	// Blobs holds attachment content: players' files sent to Zammad and agents' files
	// downloaded for the player. Required for players' messages with files; without it
	// agents' replies only name their files.
	Blobs connectors.Blobs
	// Cursors keeps the poller's position across restarts; nil keeps it in memory.
	Cursors connectors.Cursors
	// Client makes the requests; nil gets one with cfg.Timeout.
	Client *http.Client
	Log    *slog.Logger
	// Now is the clock of the poller's first look-back and the pacer; nil means time.Now.
	Now func() time.Time
	// Metrics registers the connector's counters (metrics.go); nil keeps them unregistered.
	Metrics prometheus.Registerer
}

// Helpdesk is one Zammad system.
type Helpdesk struct {
	name    normalize.InstanceName
	cfg     Config
	api     *client
	blobs   connectors.Blobs
	log     *slog.Logger
	now     func() time.Time
	sink    connectors.SinkSlot // filled while Run runs, for the hook
	metrics *metrics

	customers hdkit.Memo[string, int64] // identity key → Zammad user id
	users     hdkit.Memo[int64, user]   // user id → the user (roles, name)
	own       hdkit.Memo[int64, bool]   // articles the gateway wrote lately, for echo suppression
	// convLocks make one conversation's posts take turns in this process, ticketLocks one
	// ticket's reads (a webhook's and the poller's), so neither is done twice at once.
	convLocks   hdkit.Stripes
	ticketLocks hdkit.Stripes
	cursor      *hdkit.Cursor // the poller's, see poll.go
	seenMu      sync.Mutex
	seen        map[int64]seenMark // ticket → what was delivered (in memory: the store dedups after a restart)
}

// seenMark is the newest article and history entry of a ticket delivered.
type seenMark struct{ article, history int64 }

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
)

// New returns the Zammad helpdesk name. It refuses what Validate refuses about credentials,
// so a hand-built config cannot start a connector without them.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("zammad %s: url is required", name)
	case cfg.Token.Value() == "":
		return nil, fmt.Errorf("zammad %s: token is required", name)
	case cfg.Mode == ModeWebhook && len(cfg.WebhookToken.Value()) < minHookToken:
		return nil, fmt.Errorf("zammad %s: webhook_token of at least %d bytes is required in mode webhook", name, minHookToken)
	case !attributeName(cfg.Attributes.Conversation):
		return nil, fmt.Errorf("zammad %s: attributes.conversation is required", name)
	case cfg.Group == "" || cfg.LoginPrefix == "":
		return nil, fmt.Errorf("zammad %s: group and login_prefix are required", name)
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultConfig().MaxFileBytes
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m, err := newMetrics(d.Metrics, string(name))
	if err != nil {
		return nil, fmt.Errorf("zammad %s: %w", name, err)
	}
	return &Helpdesk{name: name, cfg: cfg, api: newClient(cfg, d.Client, d.Now, m), blobs: d.Blobs,
		log: d.Log, now: d.Now, metrics: m, seen: map[int64]seenMark{},
		cursor: &hdkit.Cursor{Store: d.Cursors, Instance: name, Key: cursorKey}}, nil
}

// Run makes the hook deliver to sink and, in mode poll (or as mode webhook's safety net),
// polls on one replica at a time, until ctx ends; then it returns nil.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	interval := h.cfg.PollInterval
	if h.cfg.Mode == ModeWebhook {
		interval = h.cfg.ReconcileInterval
	}
	return hdkit.Run(ctx, sink, &h.sink, h.name, interval, "zammad-poll", h.log, "zammad", h.pollOnce)
}

func (h *Helpdesk) seenOf(ticket int64) seenMark {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	return h.seen[ticket]
}

// markSeen notes what of ticket was delivered. The map is bounded: forgetting costs a
// re-delivery the store drops as a duplicate, never a lost event.
func (h *Helpdesk) markSeen(ticket int64, m seenMark) {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	if len(h.seen) >= hdkit.MaxMemo {
		h.seen = map[int64]seenMark{}
	}
	h.seen[ticket] = m
}

// forgetSeen makes the next sync of ticket read it from the start, as after a restart.
func (h *Helpdesk) forgetSeen(ticket int64) {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	delete(h.seen, ticket)
}
