// Package freshdesk connects the gateway to Freshdesk through its REST API (v2) with an
// agent's API key. A conversation becomes a ticket whose requester is the player, a contact
// found or created by e-mail when the player has one, else by a unique external ID of channel
// and address (never a made-up address that could receive mail); each later player message
// is an incoming public note by that contact, so Freshdesk shows it as the customer's. Files
// go along as multipart attachments[].
//
// Agents' replies and status changes are read from the ticket and its conversations when an
// automation rule's "Trigger Webhook" notifies /hooks/{instance} (Freshdesk signs nothing:
// the rule sends a shared secret header, compared in constant time, see hook.go) or when the
// poller finds the ticket updated (poll.go). Private notes, the player's incoming notes and
// the notes the gateway wrote are passed over (see events.go).
//
// Nothing is doubled: Freshdesk has no idempotency key and no external ID on tickets, so the
// ticket's description carries a marker naming the conversation and every note one naming
// the gateway's message; a post without a known ticket, or a retried one, looks among the
// requester's tickets and the ticket's conversations before it writes (see post.go).
package freshdesk

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the connector uses from the gateway.
type Deps struct {
	// Blobs holds attachment content: players' files sent to Freshdesk and agents' files
	// downloaded for the player. Required for players' messages with files; without it
	// agents' replies only name their files.
	Blobs connectors.Blobs
	// Cursors keeps the poller's position across restarts; nil keeps it in memory.
	Cursors connectors.Cursors
	// Client makes the requests; nil gets one with cfg.Timeout.
	Client *http.Client
	Log    *slog.Logger
	// Now is the clock of the pacer and the first poll; nil means time.Now.
	Now func() time.Time
	// Metrics registers the connector's counters (metrics.go); nil keeps them unregistered.
	Metrics prometheus.Registerer
}

// Helpdesk is one Freshdesk account.
type Helpdesk struct {
	name    normalize.InstanceName
	cfg     Config
	api     *client
	blobs   connectors.Blobs
	log     *slog.Logger
	now     func() time.Time
	sink    connectors.SinkSlot // filled while Run runs, for the hook
	metrics *metrics

	contacts    hdkit.Memo[string, int64]     // identity key → Freshdesk contact id
	agents      hdkit.Memo[int64, string]     // agent (user) id → name
	own         hdkit.Memo[int64, bool]       // notes the gateway wrote, for echo suppression
	ticketLocks hdkit.Stripes                 // one ticket's syncs take turns (a webhook and the poller)
	convLocks   hdkit.Stripes                 // one conversation's posts take turns
	cursor      hdkit.Cursor                  // the poll cursor, see poll.go
	seen        hdkit.Memo[int64, seenTicket] // ticket → what was delivered of it (in memory: the store dedups after a restart)
}

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
)

// New returns the Freshdesk helpdesk name. It refuses what Validate refuses about
// credentials, so a hand-built config cannot start a connector without them.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("freshdesk %s: url is required", name)
	case cfg.APIKey.Value() == "":
		return nil, fmt.Errorf("freshdesk %s: api_key is required", name)
	case cfg.Mode == ModeWebhook && len(cfg.WebhookSecret.Value()) < minWebhookSecret:
		return nil, fmt.Errorf("freshdesk %s: webhook_secret of at least %d bytes is required in mode webhook", name, minWebhookSecret)
	case cfg.MarkerPrefix == "":
		return nil, fmt.Errorf("freshdesk %s: marker_prefix is required", name)
	}
	if cfg.WebhookHeader == "" {
		cfg.WebhookHeader = DefaultWebhookHeader
	}
	if cfg.Source == 0 {
		cfg.Source = sourceChat
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
		return nil, fmt.Errorf("freshdesk %s: %w", name, err)
	}
	return &Helpdesk{name: name, cfg: cfg, api: newClient(cfg, d.Client, d.Now, m), blobs: d.Blobs,
		log: d.Log, now: d.Now, metrics: m, cursor: hdkit.Cursor{Store: d.Cursors, Instance: name, Key: cursorKey}}, nil
}

// Run makes the hook deliver to sink and, in mode poll (or as mode webhook's safety net),
// polls the updated tickets on one replica at a time, until ctx ends; then it returns nil.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	release, err := h.sink.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("freshdesk %s: %w", h.name, err)
	}
	defer release()
	interval := h.cfg.PollInterval
	if h.cfg.Mode == ModeWebhook {
		interval = h.cfg.ReconcileInterval
	}
	if interval <= 0 {
		<-ctx.Done()
		return nil
	}
	err = connectors.RunSingleton(ctx, sink, h.name, "freshdesk-poll", func(ctx context.Context) error {
		hdkit.PollLoop(ctx, sink, h.name, interval, h.log, "freshdesk", func(ctx context.Context) error { return h.pollOnce(ctx, sink) })
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
