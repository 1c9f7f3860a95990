// Package rt connects the gateway to Request Tracker 5 through its REST2 API with an auth
// token. A conversation becomes a ticket in the configured queue with the player as
// requestor; each player message becomes a correspondence. RT has no webhooks, so agents'
// replies are found by polling the transactions of the tickets the gateway created.
//
// RT has no idempotency key either: every posted text ends with a marker line carrying the
// gateway's message ID, and a message whose earlier post may have reached RT is looked up by
// it before it is posted again (see history.go).
package rt

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the connector uses from the gateway.
type Deps struct {
	// Blobs holds the content of players' attachments. Required for messages with attachments.
	Blobs connectors.Blobs
	// Client makes the REST2 requests; nil gets one with a 30 s timeout.
	Client *http.Client
	Log    *slog.Logger
}

// Helpdesk is one RT instance.
type Helpdesk struct {
	name   normalize.InstanceName
	cfg    config.RT
	rt     *client
	blobs  connectors.Blobs
	log    *slog.Logger
	sleep  func(ctx context.Context, d time.Duration) error
	poller tracker
}

var _ connectors.Helpdesk = (*Helpdesk)(nil)

// New returns the RT helpdesk instance name.
func New(name normalize.InstanceName, cfg config.RT, d Deps) (*Helpdesk, error) {
	if cfg.URL == "" || cfg.Token.Value() == "" || cfg.GatewayUser == "" || cfg.Queue == "" {
		return nil, errors.New("rt: url, token, queue and gateway_user are required")
	}
	hc := d.Client
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Helpdesk{
		name:   name,
		cfg:    cfg,
		rt:     &client{base: strings.TrimSuffix(cfg.URL, "/"), token: cfg.Token.Value(), http: hc},
		blobs:  d.Blobs,
		log:    log,
		sleep:  sleepCtx,
		poller: tracker{tickets: map[int]*ticketState{}},
	}, nil
}

// tracker is the poller's memory: the tickets it watches and the last transaction seen on
// each. It lives in memory only and is seeded from RT on start (see Run).
type tracker struct {
	mu      sync.Mutex
	tickets map[int]*ticketState
}

type ticketState struct {
	lastTxn    int
	requestors []string // lower-cased e-mail addresses; nil until known
}

// track adds ticket to the poller's set; requestor, when known, saves a look-up.
func (t *tracker) track(ticket int, requestor string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tickets[ticket]; ok {
		return
	}
	st := &ticketState{}
	if requestor != "" {
		st.requestors = []string{strings.ToLower(requestor)}
	}
	t.tickets[ticket] = st
}
