package whatsapp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the channel uses from the gateway.
type Deps struct {
	// Blobs keeps players' media and serves the attachments of replies. Required.
	Blobs connectors.Blobs
	// MaxMediaBytes is the largest file taken from a player or sent to one (the gateway's
	// attachments limit); 0 leaves it to the blob store.
	MaxMediaBytes int64
	// Log receives the channel's log lines; nil discards them.
	Log *slog.Logger
	// Metrics registers gateway_whatsapp_state; nil keeps it unexported.
	Metrics prometheus.Registerer
	// Postgres is the gateway store's connection string when its store is PostgreSQL: the
	// session then lives in that database (OpenPostgresSession) instead of cfg.Database.
	Postgres string
}

// Channel is one linked-device WhatsApp instance.
type Channel struct {
	name     normalize.InstanceName
	cfg      Config
	blobs    connectors.Blobs
	maxBytes int64
	log      *slog.Logger

	session *Session // nil when a test gave the clients
	// newClient returns a client of the session's device, or of a new unpaired one.
	newClient func(ctx context.Context) (Client, error)
	ledger    *ledger

	state   *stateKeeper
	conv    wamsg.Converter
	limiter *wamsg.Limiter
	sink    connectors.SinkSlot
	now     func() time.Time

	mu  sync.Mutex
	cli Client // the client of the running Run; nil while there is none

	// pairNow asks a waiting Run for a new QR code at once (an admin page's button).
	pairNow chan struct{}
	// pairPhone hands a QR round the number PairPhone asks a pairing code for.
	pairPhone chan string

	recent *recentMessages
	sent   *sendProgress
	waits  waits
}

// waits are the pauses of the connection loop; tests shorten them.
type waits struct {
	backoff  time.Duration // first pause after a failed connect, doubled up to maxBackoff
	maxBack  time.Duration
	replaced time.Duration // after another process took the session over
	failure  time.Duration // after WhatsApp refused the connection
	outdated time.Duration // after WhatsApp called this client outdated
	pairIdle time.Duration // first pause after a QR round nobody scanned, doubled up to maxBackoff
}

var defaultWaits = waits{backoff: time.Second, maxBack: 5 * time.Minute, replaced: 10 * time.Minute,
	failure: 5 * time.Minute, outdated: time.Hour, pairIdle: 10 * time.Second}

var (
	_ connectors.Channel = (*Channel)(nil)
	_ connectors.Typer   = (*Channel)(nil)
)

// New returns the instance name on its session database (cfg.Database, or its schema of
// deps.Postgres; opened and upgraded here, Close releases it). It does not contact WhatsApp:
// Run connects, or pairs first.
func New(ctx context.Context, name normalize.InstanceName, cfg Config, deps Deps) (*Channel, error) {
	s, err := openInstanceSession(ctx, name, cfg.Database, deps.Postgres, deps.Log)
	if err != nil {
		return nil, fmt.Errorf("whatsapp %s: %w", name, err)
	}
	c, err := newChannel(name, cfg, deps, s.NewClient, s.ledger)
	if err != nil {
		s.Close()
		return nil, err
	}
	c.session = s
	return c, nil
}

// newChannel returns the channel on clients made by newClient.
func newChannel(name normalize.InstanceName, cfg Config, deps Deps, newClient func(context.Context) (Client, error), led *ledger) (*Channel, error) {
	if deps.Blobs == nil {
		return nil, fmt.Errorf("whatsapp %s: Blobs is required", name)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	state, err := newStateKeeper(name, log, deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("whatsapp %s: %w", name, err)
	}
	burst := max(cfg.SendBurst, 1)
	return &Channel{
		name: name, cfg: cfg, blobs: deps.Blobs, maxBytes: deps.MaxMediaBytes, log: log,
		newClient: newClient, ledger: led, state: state, now: time.Now,
		conv: wamsg.Converter{Instance: name, Kind: normalize.KindWhatsApp, Blobs: deps.Blobs, Log: log,
			MaxBytes: deps.MaxMediaBytes},
		limiter:   wamsg.NewLimiter(every(cfg.ChatInterval), every(cfg.SendInterval), burst),
		pairNow:   make(chan struct{}, 1),
		pairPhone: make(chan string, 1),
		recent:    newRecentMessages(4096),
		sent:      newSendProgress(),
		waits:     defaultWaits,
	}, nil
}

// every is the rate of one event per d; an unset d does not limit.
func every(d time.Duration) rate.Limit {
	if d <= 0 {
		return rate.Inf
	}
	return rate.Every(d)
}

// Close releases the session database.
func (c *Channel) Close() error {
	if c.session == nil {
		return nil
	}
	return c.session.Close()
}

// Status returns where the instance's link to WhatsApp stands, with the QR code to show while
// it waits to be paired: for an admin page.
func (c *Channel) Status() Status { return c.state.status() }

// PairNow asks a Run that waits between QR rounds for a new QR code at once.
func (c *Channel) PairNow() {
	select {
	case c.pairNow <- struct{}{}:
	default:
	}
}

// PairPhone asks WhatsApp for a pairing code for phone (E.164): Status then shows it as
// PairCode, to type on the phone under Link with phone number instead of scanning the QR code.
// A running QR round asks at once; between rounds, PairNow starts the next, which asks. It
// refuses a number that is no E.164 one and an instance that has a linked phone.
func (c *Channel) PairPhone(phone string) error {
	digits, err := pairNumber(phone)
	if err != nil {
		return fmt.Errorf("whatsapp %s: %w", c.name, err)
	}
	if st := c.Status(); !st.Unlinked() {
		return fmt.Errorf("whatsapp %s is %s: %w", c.name, st.State, ErrAlreadyPaired)
	}
	for {
		select {
		case c.pairPhone <- digits:
			c.PairNow()
			return nil
		default:
			// A number asked for earlier and not taken yet: the newest wins.
			select {
			case <-c.pairPhone:
			default:
			}
		}
	}
}

func (c *Channel) client() Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cli
}

func (c *Channel) setClient(cli Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cli = cli
}

// linkEvent is what the event handler tells the connection loop.
type linkEvent struct {
	connected bool
	loggedOut bool
	// retryIn is how long to stay away before connecting again after WhatsApp ended the
	// connection for good (whatsmeow does not reconnect then).
	retryIn time.Duration
}

// Run connects the instance and takes players' messages until ctx ends, then returns nil.
// An unpaired instance shows QR codes (Status) in rounds until a phone scans one; a
// connection WhatsApp refuses or ends is retried with back-off, and its reason reported to the
// sink's health.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	release, err := c.sink.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("whatsapp %s: %w", c.name, err)
	}
	defer release()
	c.state.setHealth(sink)
	defer c.state.setHealth(nil)
	var wg sync.WaitGroup
	wg.Go(func() { c.pruneLoop(ctx) })
	defer wg.Wait()

	wait, pairWait := c.waits.backoff, c.waits.pairIdle
	for ctx.Err() == nil {
		cli, err := c.newClient(ctx)
		if err != nil {
			c.state.set(StateFailed, fmt.Sprintf("cannot open the session, retrying in %s: %v", wait, err), err)
			if !connectors.Sleep(ctx, wait) {
				break
			}
			wait = min(2*wait, c.waits.maxBack)
			continue
		}
		wait = c.waits.backoff
		link := make(chan linkEvent, 16)
		cli.AddEventHandler(func(evt any) bool { return c.handle(ctx, cli, link, evt) })
		c.setClient(cli)
		if !cli.Paired() {
			if !c.pairRound(ctx, cli, &pairWait) {
				c.setClient(nil)
				continue
			}
			pairWait = c.waits.pairIdle
		}
		c.stay(ctx, cli, link)
		cli.Disconnect()
		c.setClient(nil)
	}
	return nil
}

// pairRound shows one round of QR codes and reports whether a phone scanned one. When none
// did, it waits (*idle, doubled each round up to the back-off's ceiling) before the next
// round, unless PairNow asks for one sooner.
func (c *Channel) pairRound(ctx context.Context, cli Client, idle *time.Duration) bool {
	c.state.set(StatePairing, "connecting to get a QR code", unpairedProblem(c.name))
	err := pairDevice(ctx, cli, "", c.pairPhone, func(p PairProgress) {
		detail := fmt.Sprintf("scan the QR code with WhatsApp on the phone "+
			"(Settings → Linked devices → Link a device), or run `%s`", pairCommand(c.name))
		if p.PairCode != "" {
			detail = fmt.Sprintf("type the pairing code %s on the phone (Settings → Linked devices → Link a device → "+
				"Link with phone number instead), or scan the QR code", p.PairCode)
		}
		c.state.qr(p, c.now().Add(p.Expires), detail)
	})
	if err == nil {
		c.state.setFrom(StatePairing, StatePaired, "paired; connecting", nil)
		return true
	}
	cli.Disconnect()
	if ctx.Err() != nil {
		return false
	}
	c.state.set(StateUnpaired, fmt.Sprintf("no phone linked (%v); a new QR code follows in %s; or stop the gateway and run `%s`",
		err, *idle, pairCommand(c.name)), unpairedProblem(c.name))
	t := time.NewTimer(*idle)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		*idle = min(2**idle, c.waits.maxBack)
	case <-c.pairNow:
	}
	return false
}

// stay keeps cli connected until ctx ends or the device is logged out.
func (c *Channel) stay(ctx context.Context, cli Client, link <-chan linkEvent) {
	wait := c.waits.backoff
	for {
		if !cli.IsConnected() {
			if err := cli.Connect(ctx); err != nil && !alreadyConnected(err) {
				if ctx.Err() != nil {
					return
				}
				c.state.set(StateDisconnected, fmt.Sprintf("cannot connect to WhatsApp, retrying in %s: %v", wait, err), err)
				if !connectors.Sleep(ctx, wait) {
					return
				}
				wait = min(2*wait, c.waits.maxBack)
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case ev := <-link:
			switch {
			case ev.connected:
				wait = c.waits.backoff
			case ev.loggedOut:
				return
			case ev.retryIn > 0:
				cli.Disconnect()
				if !connectors.Sleep(ctx, ev.retryIn) {
					return
				}
			}
		}
	}
}

// pruneLoop forgets old sent-message IDs once a day.
func (c *Channel) pruneLoop(ctx context.Context) {
	for {
		if c.ledger != nil {
			if err := c.ledger.prune(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("whatsapp: pruning the ledger failed", "err", err)
			}
		}
		if !connectors.Sleep(ctx, 24*time.Hour) {
			return
		}
	}
}
