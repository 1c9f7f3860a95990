// Package zendesk connects the gateway to Zendesk Support through its REST API (v2) with an
// API token or OAuth token. A conversation becomes a ticket whose requester is the player,
// found or created by e-mail when the player has one, else by an external ID of channel and
// address (never a made-up address that could receive mail); each later player message is a
// public comment authored by that requester, so Zendesk shows it as the customer's and
// reopens a solved ticket on it. Files go up through Zendesk's uploads first.
//
// Agents' public replies, status changes and assignments come back from the ticket's audits,
// which the connector reads when a Zendesk trigger notifies /hooks/{instance} (HMAC-SHA256
// signed, see hook.go) or when its poller finds the ticket in the incremental export (poll.go).
// Internal notes, the players' own comments and the comments the gateway wrote are passed
// over (see events.go).
//
// Nothing is doubled: a ticket carries the conversation in its external_id and is looked up
// by it before one is created (with an Idempotency-Key on the create as well), and every
// posted comment ends with a marker line naming the gateway's message ID, which a retry
// looks for before it posts the message again (see post.go).
package zendesk

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
	// Blobs holds attachment content: players' files uploaded to Zendesk and agents' files
	// downloaded for the player. Required for players' messages with files; without it
	// agents' replies only name their files.
	Blobs connectors.Blobs
	// Cursors keeps the poller's position in the incremental export across restarts; nil
	// keeps it in memory.
	Cursors connectors.Cursors
	// Client makes the requests; nil gets one with cfg.Timeout. Its own timeout still applies.
	Client *http.Client
	Log    *slog.Logger
	// Now is the clock, for the webhook's replay window and the pacer; nil means time.Now.
	Now func() time.Time
	// Metrics registers the connector's counters (metrics.go); nil keeps them unregistered.
	Metrics prometheus.Registerer
}

// Helpdesk is one Zendesk account.
type Helpdesk struct {
	name    normalize.InstanceName
	cfg     Config
	api     *client
	blobs   connectors.Blobs
	log     *slog.Logger
	now     func() time.Time
	sink    connectors.SinkSlot // filled while Run runs, for the hook
	metrics *metrics

	requesters hdkit.Memo[string, int64] // identity key → Zendesk user id
	users      hdkit.Memo[int64, user]   // user id → the user (role, name)
	// own are the comments Post created lately: an event for one of them is the gateway's
	// own echo. The marker line catches the older ones and those of other replicas.
	own         hdkit.Memo[int64, bool]
	ticketLocks hdkit.Stripes // a webhook and the poller never deliver one ticket's events concurrently
	convLocks   hdkit.Stripes // the posts of one conversation in this process take turns
	cursor      *hdkit.Cursor // the export cursor, see poll.go
	seenMu      sync.Mutex
	seen        map[int64]int64 // ticket → the last audit delivered (in memory: the store dedups after a restart)
}

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
)

// New returns the Zendesk helpdesk name. It refuses what Validate refuses about credentials,
// so a hand-built config cannot start a connector without them.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("zendesk %s: url is required", name)
	case cfg.OAuthToken.Value() == "" && (cfg.Token.Value() == "" || cfg.Email == ""):
		return nil, fmt.Errorf("zendesk %s: email and token, or oauth_token, are required", name)
	case cfg.Mode == ModeWebhook && len(cfg.WebhookSecret.Value()) < minWebhookSecret:
		return nil, fmt.Errorf("zendesk %s: webhook_secret of at least %d bytes is required in mode webhook", name, minWebhookSecret)
	case cfg.ExternalIDPrefix == "":
		return nil, fmt.Errorf("zendesk %s: external_id_prefix is required", name)
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
		return nil, fmt.Errorf("zendesk %s: %w", name, err)
	}
	return &Helpdesk{name: name, cfg: cfg, api: newClient(cfg, d.Client, d.Now, m), blobs: d.Blobs,
		cursor: &hdkit.Cursor{Store: d.Cursors, Instance: name, Key: cursorKey},
		log:    d.Log, now: d.Now, metrics: m, seen: map[int64]int64{}}, nil
}

// Run makes the hook deliver to sink and, in mode poll (or as mode webhook's safety net),
// reads the incremental export on one replica at a time, until ctx ends; then it returns nil.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	interval := h.cfg.PollInterval
	if h.cfg.Mode == ModeWebhook {
		interval = h.cfg.ReconcileInterval
	}
	return hdkit.Run(ctx, sink, &h.sink, h.name, interval, "zendesk-export", h.log, "zendesk", h.pollOnce)
}
