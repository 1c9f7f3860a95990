// Package rt connects the gateway to Request Tracker 5 through its REST2 API with an auth
// token. A conversation becomes a ticket in the configured queue with the player as
// requestor; each player message becomes a correspondence, and each Update of the
// conversation sets the ticket's priority and becomes an internal comment. RT has no
// webhooks, so agents' replies, status changes and owner changes are found by polling RT's
// transactions with one TransactionSQL query a poll, from a cursor kept in the gateway's
// store (see poll.go).
//
// RT has no idempotency key either: every posted text ends with a marker line carrying the
// gateway's message ID, and a message whose earlier post may have reached RT is looked up by
// it before it is posted again (see history.go).
package rt

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the connector uses from the gateway.
type Deps struct {
	// Blobs holds the content of attachments: players' files posted to RT, and agents' files
	// downloaded from RT for the player. Required for players' messages with attachments;
	// without it agents' replies only name their files.
	Blobs connectors.Blobs
	// Cursors keeps the poller's position in RT's transactions across restarts. nil keeps it
	// in memory: each start then replays the history of the gateway's active tickets, which
	// the store's dedup on (instance, "txn-<id>") drops.
	Cursors connectors.Cursors
	// Client makes the REST2 requests; nil gets one with a 30 s timeout.
	Client *http.Client
	Log    *slog.Logger
}

// Helpdesk is one RT instance.
type Helpdesk struct {
	name    normalize.InstanceName
	cfg     Config
	rt      *client
	blobs   connectors.Blobs
	cursors connectors.Cursors
	log     *slog.Logger
	poller  tracker
	// txnPatience is the least time a transaction keeps failing before it is passed over
	// (txnMinWait; tests shorten it).
	txnPatience time.Duration
}

var _ connectors.Helpdesk = (*Helpdesk)(nil)

// New returns the RT helpdesk instance name.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
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
		name:    name,
		cfg:     cfg,
		rt:      &client{base: strings.TrimSuffix(cfg.URL, "/"), token: cfg.Token.Value(), http: hc},
		blobs:   d.Blobs,
		cursors: d.Cursors,
		log:     log,
		poller:  tracker{},

		txnPatience: txnMinWait,
	}, nil
}

// tracker is the poller's memory: its position in RT's transactions, and what it learned
// about tickets and users on the way. Only the position is durable (Deps.Cursors).
type tracker struct {
	mu         sync.Mutex
	loaded     bool // cursor holds the stored position or the replay start
	cursor     int  // the last transaction handled
	requestors memo[int, []string]
	users      memo[int, user]
	staff      memo[string, bool] // by user name: whether the user is privileged in RT
	// fileFailures counts the polls in a row that failed to download a file for now, by
	// attachment id; an entry lives only while its file keeps failing so.
	fileFailures map[int]int
	// txnFailures tracks the transactions that failed on consecutive polls, by id; an entry
	// lives only until the cursor moves past its transaction (see txnFailed).
	txnFailures map[int]txnFailure
}

// txnFailure is how long one transaction has kept failing.
type txnFailure struct {
	polls int       // consecutive polls that failed on it
	since time.Time // the first of them
}

// txnFailed records a failed poll on transaction id at now and returns its record. spent
// reports that it has failed txnAttempts polls over at least patience: the caller passes it
// over, so its entry goes.
func (t *tracker) txnFailed(id int, now time.Time, patience time.Duration) (f txnFailure, spent bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.txnFailures == nil {
		t.txnFailures = map[int]txnFailure{}
	}
	f, ok := t.txnFailures[id]
	if !ok {
		f.since = now
	}
	f.polls++
	spent = f.polls >= txnAttempts && now.Sub(f.since) >= patience
	if spent {
		delete(t.txnFailures, id)
	} else {
		t.txnFailures[id] = f
	}
	return f, spent
}

// moveCursor sets the cursor to n and forgets the failures of the transactions up to it:
// they were delivered or passed over.
func (t *tracker) moveCursor(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cursor = n
	for id := range t.txnFailures {
		if id <= n {
			delete(t.txnFailures, id)
		}
	}
}

// fileFailed records the outcome of downloading attachment id, failed for now or not, and
// returns how many polls in a row have now failed on it (0 when it did not fail for now). A
// file stored, too large or refused for good is settled, so its entry goes.
func (t *tracker) fileFailed(id int, transient bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !transient {
		delete(t.fileFailures, id)
		return 0
	}
	if t.fileFailures == nil {
		t.fileFailures = map[int]int{}
	}
	t.fileFailures[id]++
	n := t.fileFailures[id]
	if n >= fileAttempts {
		delete(t.fileFailures, id) // given up: the reply goes without it
	}
	return n
}

// track notes the requestor of a ticket the gateway posted to, which saves a look-up when an
// agent replies there.
func (t *tracker) track(ticket int, requestor string) {
	if requestor == "" {
		return
	}
	t.requestors.note(ticket, []string{strings.ToLower(requestor)})
}
