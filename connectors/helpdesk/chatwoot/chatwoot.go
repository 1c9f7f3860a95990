// Package chatwoot connects the gateway to Chatwoot through an API-channel inbox. A
// conversation of the gateway becomes a Chatwoot conversation in that inbox, of a contact
// found or created for the player (by e-mail when the player has one, else by the
// identifier "<channel>:<address>", never a made-up e-mail address); each player message
// becomes an incoming message of the contact, its files attachments[] of a multipart
// request; each Update sets the conversation's custom attributes and priority and leaves a
// private note.
//
// Agents' replies, and status changes, come back as the inbox's webhook to /hooks/{instance}
// (see hook.go): only public outgoing messages reach the player, never private notes, and
// the messages the gateway created itself are recognised by the source_id it gave them.
//
// Chatwoot has no idempotency key: the gateway writes its message ID into each message's
// source_id and its conversation ID into the conversation's custom attributes, and a retry
// looks them up before it creates anything again (see post.go).
package chatwoot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/hdkit"
	"github.com/casino-support/gateway/connectors/ratelimit"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the connector uses from the gateway.
type Deps struct {
	// Blobs holds attachments: players' files posted to Chatwoot and agents' files
	// downloaded for the player. Required for messages with attachments.
	Blobs connectors.Blobs
	// Cursors keeps the poller's position across restarts and replicas; nil keeps it in
	// memory (a start then reads the last 10 minutes again, which the store deduplicates).
	Cursors connectors.Cursors
	// MaxAttachmentBytes caps one agent's file downloaded from Chatwoot; 0 means 25 MiB.
	MaxAttachmentBytes int64
	// Client makes the API requests and downloads; nil gets one with cfg.Timeout.
	Client *http.Client
	// Metrics registers the connector's counters; nil registers none.
	Metrics prometheus.Registerer
	Log     *slog.Logger
	// Now is the clock, replaceable in tests of skew; nil means time.Now.
	Now func() time.Time
}

// defaultMaxAttachment is the gateway's default attachments.max_bytes.
const defaultMaxAttachment = 25 << 20

// Helpdesk is one Chatwoot inbox.
type Helpdesk struct {
	name      normalize.InstanceName
	cfg       Config
	api       *client
	files     *http.Client // downloads of agents' files, which are not API requests
	blobs     connectors.Blobs
	cursors   connectors.Cursors
	maxAttach int64
	log       *slog.Logger
	now       func() time.Time
	sink      connectors.SinkSlot
	metrics   *metrics

	// convLocks serialises Posts of one conversation, so a retry racing an earlier attempt
	// in this process looks up what the other made instead of making it again.
	convLocks hdkit.Stripes
	// sources remembers the contact-inbox source IDs of contacts already set up, by the
	// player's key, which saves two requests on every new conversation of a known player.
	mu      sync.Mutex
	sources map[string]contactRef
	// memCursor is the poller's position without Deps.Cursors.
	memCursor time.Time
	// polledSeen holds what the poller handed over lately, by external ID, with when.
	polledSeen map[normalize.ExternalID]time.Time
	// polledStatus is each conversation's status as the poller saw it last (mode poll).
	polledStatus map[int]string
}

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
)

// New returns the Chatwoot helpdesk name. It refuses settings Validate would refuse, so a
// hand-built config cannot start a hook that accepts unsigned requests.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
	switch {
	case cfg.URL == "" || cfg.AccountID <= 0 || cfg.InboxID <= 0:
		return nil, fmt.Errorf("chatwoot %s: url, account_id and inbox_id are required", name)
	case cfg.APIToken.Value() == "":
		return nil, fmt.Errorf("chatwoot %s: api_token is required", name)
	case cfg.Mode != ModePoll && cfg.WebhookSecret.Value() == "" && len(cfg.HookToken.Value()) < minHookToken:
		return nil, fmt.Errorf("chatwoot %s: webhook_secret, or a hook_token of at least %d bytes, is required", name, minHookToken)
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = DefaultConfig().MaxSkew
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: cmpOr(cfg.Timeout, DefaultConfig().Timeout)}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxAttachmentBytes <= 0 {
		d.MaxAttachmentBytes = defaultMaxAttachment
	}
	m, err := newMetrics(d.Metrics, string(name))
	if err != nil {
		return nil, fmt.Errorf("chatwoot %s: %w", name, err)
	}
	// Chatwoot itself throttles with rack-attack and no quota headers; a gateway in front of
	// it, and Chatwoot Cloud, announce the quota, which the shared pacer reads.
	pace := ratelimit.New(ratelimit.Config{SlowBelow: cfg.SlowBelow, Now: d.Now, Count: func(reason string) { m.paced.WithLabelValues(reason).Inc() }})
	base := fmt.Sprintf("%s/api/v1/accounts/%d", strings.TrimSuffix(cfg.URL, "/"), cfg.AccountID)
	return &Helpdesk{
		name:      name,
		cfg:       cfg,
		api:       &client{base: base, token: cfg.APIToken.Value(), http: d.Client, now: d.Now, pace: pace},
		files:     d.Client,
		blobs:     d.Blobs,
		cursors:   d.Cursors,
		maxAttach: d.MaxAttachmentBytes,
		log:       d.Log,
		now:       d.Now,
		metrics:   m,
		sources:   map[string]contactRef{},
	}, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Run makes the hook accept Chatwoot's webhooks for sink until ctx ends, then returns nil;
// until Run started, and after it returned, the hook answers 503, which Chatwoot retries.
// Meanwhile one replica polls the inbox: every poll_interval in mode poll, every
// reconcile_interval in mode webhook (see poll.go).
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	release, err := h.sink.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("chatwoot %s: %w", h.name, err)
	}
	defer release()
	every := h.cfg.ReconcileInterval
	if h.cfg.Mode == ModePoll {
		every = h.cfg.PollInterval
	}
	if every <= 0 {
		<-ctx.Done()
		return nil
	}
	return h.poll(ctx, sink, every)
}

// errNoBlobs is returned for a message with attachments when no blob store is configured.
var errNoBlobs = errors.New("the message has attachments but no blob store is configured")
