// Package wake carries small notices between the gateway's replicas through PostgreSQL's
// LISTEN/NOTIFY, so that a live page on one replica hears of what another did (an agent's
// reply delivered, a ticket changed). Notices are hints: one lost while a listener reconnects
// is not sent again, and the pages catch up from the store.
//
// It listens on one dedicated pgx connection rather than through pgxlisten: the gateway needs
// one channel per database schema, topics routed in-process, and a reconnect loop, which is
// less code here than adapting that package's handler registry.
package wake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/casino-support/gateway/connectors"
)

// MaxPayload is the most a notice carries with its topic: PostgreSQL refuses longer ones
// (8000 bytes), less room for the framing.
const MaxPayload = connectors.MaxNotice

// ErrTooLarge is returned by Publish for a payload over MaxPayload.
var ErrTooLarge = errors.New("wake: payload too large for a notice")

// errEmpty is returned by Publish for an empty payload, which subscribers take for "notices
// may have been lost".
var errEmpty = errors.New("wake: empty payload")

var _ connectors.Notices = (*Bus)(nil)

// Bus publishes and hears notices on the PostgreSQL database of one connection string.
type Bus struct {
	dsn     string
	channel string
	log     *slog.Logger

	mu   sync.Mutex
	subs map[string]map[chan string]struct{}
	pub  *pgx.Conn

	cancel context.CancelFunc
	done   chan struct{}
}

// Open connects to dsn and starts listening. The channel is named after the connection's
// schema, so gateways in other schemas of the same database do not hear each other.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("wake: connect: %w", err)
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("wake: read schema: %w", err)
	}
	sum := sha256.Sum256([]byte(schema))
	b := &Bus{dsn: dsn, channel: "gateway_wake_" + hex.EncodeToString(sum[:8]), log: log,
		subs: map[string]map[chan string]struct{}{}, pub: conn, done: make(chan struct{})}
	listener, err := b.listen(ctx)
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.run(runCtx, listener)
	return b, nil
}

// Close stops listening and closes the connections.
func (b *Bus) Close() error {
	b.cancel()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pub.Close(context.Background())
}

// Publish sends payload on topic to the subscribers of every replica, this one included.
func (b *Bus) Publish(ctx context.Context, topic, payload string) error {
	if len(payload)+len(topic) > MaxPayload {
		return ErrTooLarge
	}
	if payload == "" {
		return errEmpty
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.pub.Exec(ctx, `SELECT pg_notify($1, $2)`, b.channel, topic+"\n"+payload); err != nil {
		if b.pub.IsClosed() {
			if conn, cerr := pgx.Connect(ctx, b.dsn); cerr == nil {
				b.pub = conn
			}
		}
		return fmt.Errorf("wake: publish: %w", err)
	}
	return nil
}

// Subscribe returns a channel of the payloads published on topic from now on, and a function
// that ends the subscription. A subscriber too slow to take a notice misses it.
func (b *Bus) Subscribe(topic string) (<-chan string, func()) {
	ch := make(chan string, 64)
	b.mu.Lock()
	if b.subs[topic] == nil {
		b.subs[topic] = map[chan string]struct{}{}
	}
	b.subs[topic][ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[topic], ch)
	}
}

func (b *Bus) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, b.dsn)
	if err != nil {
		return nil, fmt.Errorf("wake: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("wake: listen: %w", err)
	}
	return conn, nil
}

// run hands notices to subscribers until ctx ends, reconnecting after a lost connection.
func (b *Bus) run(ctx context.Context, conn *pgx.Conn) {
	defer close(b.done)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err == nil {
			b.deliver(n.Payload)
			continue
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("wake: listener lost its connection; reconnecting", "err", err)
		for conn = nil; conn == nil; {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			if conn, err = b.listen(ctx); err != nil {
				b.log.Warn("wake: reconnect failed", "err", err)
			}
		}
		b.log.Info("wake: listener reconnected; waking every page to catch up")
		b.resync()
	}
}

// resync tells every subscriber that notices may have been lost while the listener was away.
// It must get through: a subscriber whose buffer is full loses its oldest notice for it,
// which the resync covers anyway.
func (b *Bus) resync() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, set := range b.subs {
		for ch := range set {
			select {
			case ch <- "":
			default:
				select {
				case <-ch:
				default:
				}
				select {
				case ch <- "":
				default:
				}
			}
		}
	}
}

func (b *Bus) deliver(notice string) {
	topic, payload, ok := strings.Cut(notice, "\n")
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[topic] {
		select {
		case ch <- payload:
		default:
		}
	}
}
