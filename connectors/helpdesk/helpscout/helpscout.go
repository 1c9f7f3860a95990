// Package helpscout connects the gateway to Help Scout through its Mailbox API 2.0, as an
// OAuth2 app with client credentials (the token is fetched and refreshed by client.go). A
// conversation becomes a Help Scout conversation in one inbox whose customer is the player,
// found by e-mail when the player has one, else created without any address (named after the
// player, with the channel and address as a chat handle), never with a made-up e-mail that
// could receive mail; each later player message is a customer thread, so Help Scout shows it
// as the customer's. Files go inline, base64, in the thread that carries them.
//
// Agents' replies and status changes come back from the conversation's threads, which the
// connector reads when a Help Scout webhook notifies /hooks/{instance} (signed with
// X-HelpScout-Signature, see hook.go) or when its poller finds the conversation modified
// (poll.go). Notes, customer threads and the threads the gateway wrote are passed over
// (see events.go).
//
// Nothing is doubled: a conversation carries a tag naming the gateway's conversation and is
// looked up by it before one is created (Help Scout has no idempotency key), and every posted
// thread ends with a marker line naming the gateway's message ID, which a retry looks for
// before it posts the message again (see post.go).
package helpscout

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
	// Blobs holds attachment content: players' files sent to Help Scout and agents' files
	// downloaded for the player. Required for players' messages with files; without it
	// agents' replies only name their files.
	Blobs connectors.Blobs
	// Cursors keeps the poller's position across restarts; nil keeps it in memory.
	Cursors connectors.Cursors
	// Client makes the requests; nil gets one with cfg.Timeout.
	Client *http.Client
	Log    *slog.Logger
	// Now is the clock, for the token's expiry and the pacer; nil means time.Now.
	Now func() time.Time
	// Metrics registers the connector's counters (metrics.go); nil keeps them unregistered.
	Metrics prometheus.Registerer
}

// Helpdesk is one Help Scout inbox.
type Helpdesk struct {
	name    normalize.InstanceName
	cfg     Config
	api     *client
	blobs   connectors.Blobs
	log     *slog.Logger
	now     func() time.Time
	sink    connectors.SinkSlot // filled while Run runs, for the hook
	metrics *metrics

	customers hdkit.Memo[string, int64] // chat handle → Help Scout customer id
	own       hdkit.Memo[int64, bool]   // threads the gateway wrote, for echo suppression
	locks     hdkit.Stripes             // a conversation's posts take turns, and so do its syncs
	cursor    hdkit.Cursor              // the poller's modifiedSince, see poll.go
	// seen is how far each conversation was delivered; bounded and in memory: forgetting (or a
	// restart) costs a re-delivery the store drops as a duplicate, never a lost event.
	seen hdkit.Memo[int64, seenState]
}

// seenState is how far a conversation's threads were delivered.
type seenState struct {
	thread int64  // the last thread delivered
	status string // the conversation's status after it
}

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
)

// New returns the Help Scout helpdesk name. It refuses what Validate refuses about
// credentials, so a hand-built config cannot start a connector without them.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("helpscout %s: url is required", name)
	case cfg.ClientID == "" || cfg.ClientSecret.Value() == "":
		return nil, fmt.Errorf("helpscout %s: client_id and client_secret are required", name)
	case cfg.MailboxID <= 0:
		return nil, fmt.Errorf("helpscout %s: mailbox_id is required", name)
	case cfg.Mode == ModeWebhook && len(cfg.WebhookSecret.Value()) < minWebhookSecret:
		return nil, fmt.Errorf("helpscout %s: webhook_secret of at least %d bytes is required in mode webhook", name, minWebhookSecret)
	case cfg.TagPrefix == "":
		return nil, fmt.Errorf("helpscout %s: tag_prefix is required", name)
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
		return nil, fmt.Errorf("helpscout %s: %w", name, err)
	}
	return &Helpdesk{name: name, cfg: cfg, api: newClient(cfg, d.Client, d.Now, m), blobs: d.Blobs,
		log: d.Log, now: d.Now, metrics: m,
		cursor: hdkit.Cursor{Store: d.Cursors, Instance: name, Key: cursorKey}}, nil
}

// Run makes the hook deliver to sink and, in mode poll (or as mode webhook's safety net),
// polls the inbox on one replica at a time, until ctx ends; then it returns nil.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	interval := h.cfg.PollInterval
	if h.cfg.Mode == ModeWebhook {
		interval = h.cfg.ReconcileInterval
	}
	return hdkit.Run(ctx, sink, &h.sink, h.name, interval, "helpscout-poll", h.log, "helpscout", h.pollOnce)
}

func (h *Helpdesk) seenOf(conv int64) seenState {
	s, _ := h.seen.Get(conv)
	return s
}

// forgetSeen makes the next sync of conv read its threads from the start, as after a restart.
func (h *Helpdesk) forgetSeen(conv int64) { h.seen.Delete(conv) }
