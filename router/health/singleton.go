package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/clock"
	"github.com/casino-support/gateway/router/store"
)

// Leases is what singletons need of the store: fenced leases with a heartbeat (store.Store).
type Leases interface {
	TakeSingleton(ctx context.Context, key, owner string, lease time.Duration) (store.SingletonLease, error)
	RenewSingleton(ctx context.Context, key string, token int64, lease time.Duration) error
	ReleaseSingleton(ctx context.Context, key string, token int64) error
}

// SingletonOptions say who this replica is and how long its singleton leases last.
type SingletonOptions struct {
	// Owner names this replica in the store and in health details; unique per process.
	Owner string
	// Lease is how long a lease lasts after its holder's last heartbeat: a dead holder's
	// singletons move to another replica this long (plus at most a Heartbeat) after it died.
	Lease time.Duration
	// Heartbeat is how often the holder renews, and a standby replica tries to take, a lease.
	Heartbeat time.Duration
	// Clock is the real clock when nil; tests run in a synctest bubble or pass a fake.
	Clock clock.Clock
}

// DefaultSingletonLease and DefaultSingletonHeartbeat move a dead holder's singletons within
// 15 s (issue 15): the lease lapses at most 10 s after the holder's last heartbeat, and a
// standby replica tries again at the lapse it was told of, or every 3 s.
const (
	DefaultSingletonLease     = 10 * time.Second
	DefaultSingletonHeartbeat = 3 * time.Second
)

// Singletons runs connectors' singleton parts (connectors.SingletonSink) on the replica that
// holds their lease, and shows on the board who holds each one. It is safe for concurrent use.
type Singletons struct {
	board  *Board
	leases Leases
	opts   SingletonOptions
	clock  clock.Clock
	log    *slog.Logger
	held   *prometheus.GaugeVec
}

var _ connectors.SingletonSink = (*Singletons)(nil)

// NewSingletons returns singletons kept in leases, reported on board, with their metric
// registered with reg (nil: none).
func NewSingletons(board *Board, leases Leases, opts SingletonOptions, reg prometheus.Registerer, log *slog.Logger) *Singletons {
	if opts.Lease <= 0 {
		opts.Lease = DefaultSingletonLease
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultSingletonHeartbeat
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Singletons{board: board, leases: leases, opts: opts, clock: clk, log: log.With("replica", opts.Owner),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gateway_singleton_held",
			Help: "1 while this replica holds the lease of a connector's singleton (and runs it), 0 while it waits on standby."},
			[]string{"connector", "key"})}
	if reg != nil {
		reg.MustRegister(s.held)
	}
	return s
}

// RunSingleton implements connectors.SingletonSink.
func (s *Singletons) RunSingleton(ctx context.Context, instance normalize.InstanceName, key string, run func(context.Context) error) error {
	for {
		l, ok := s.standby(ctx, instance, key)
		if !ok {
			return nil
		}
		lost, err := s.hold(ctx, instance, l, run)
		if !lost {
			return err
		}
	}
}

// standby takes key's lease, trying every heartbeat (or at the lapse the holder's lease
// announces, when sooner), until it is this replica's (ok) or ctx ends. The lease returned
// lapses, as far as this replica counts, one Lease after the take was sent.
func (s *Singletons) standby(ctx context.Context, instance normalize.InstanceName, key string) (l store.SingletonLease, ok bool) {
	holder := ""
	for {
		sent := s.clock.Now()
		l, err := s.leases.TakeSingleton(ctx, key, s.opts.Owner, s.opts.Lease)
		wait := s.opts.Heartbeat
		switch {
		case ctx.Err() != nil:
			return l, false
		case err != nil:
			s.log.Warn("singleton: cannot take the lease; trying again", "connector", instance, "key", key, "err", err)
		case l.Owner == s.opts.Owner:
			s.log.Info("singleton: this replica holds the lease and runs it", "connector", instance, "key", key)
			s.show(instance, key, l.Owner, true)
			l.Until = sent.Add(s.opts.Lease)
			return l, true
		default:
			if l.Owner != holder {
				s.log.Info("singleton: on standby; another replica holds the lease", "connector", instance, "key", key, "holder", l.Owner)
				holder = l.Owner
			}
			s.show(instance, key, l.Owner, false)
			if d := l.Until.Sub(s.clock.Now()); d > 0 && d < wait {
				wait = d + time.Millisecond
			}
		}
		if !s.sleep(ctx, wait) {
			return l, false
		}
	}
}

// errEarlySingleton stands for a singleton's run that returned nil while it held the lease
// and its context had not ended.
var errEarlySingleton = errors.New("the singleton's run returned while this replica held its lease")

// hold runs run while l is this replica's, renewing it every heartbeat. It returns lost when
// the lease was lost (run ended, the caller goes back on standby); otherwise ctx ended (err
// nil) or run failed (its error), and the lease is released.
func (s *Singletons) hold(ctx context.Context, instance normalize.InstanceName, l store.SingletonLease, run func(context.Context) error) (lost bool, err error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(runCtx) }()
	stop := func() {
		cancel()
		<-done
	}
	deadline := l.Until
	for {
		t := s.clock.NewTimer(s.opts.Heartbeat)
		select {
		case err := <-done:
			t.Stop()
			s.release(ctx, instance, l)
			if ctx.Err() != nil {
				return false, nil
			}
			if err == nil {
				err = errEarlySingleton
			}
			return false, fmt.Errorf("singleton %s: %w", l.Key, err)
		case <-ctx.Done():
			t.Stop()
			stop()
			s.release(ctx, instance, l)
			return false, nil
		case <-t.C():
		}
		sent := s.clock.Now()
		// A store that hangs must not hold the heartbeat past the lease's lapse.
		rctx, rcancel := context.WithTimeout(ctx, s.opts.Heartbeat)
		err := s.leases.RenewSingleton(rctx, l.Key, l.Token, s.opts.Lease)
		rcancel()
		switch {
		case err == nil:
			deadline = sent.Add(s.opts.Lease)
		case ctx.Err() != nil:
			// The next round sees ctx ended.
		case errors.Is(err, store.ErrLeaseLost):
			s.log.Warn("singleton: another replica took the lease; stopping here", "connector", instance, "key", l.Key, "err", err)
			stop()
			s.show(instance, l.Key, "", false)
			return true, nil
		default:
			s.log.Warn("singleton: cannot renew the lease", "connector", instance, "key", l.Key, "err", err)
			// Stop before the lease lapses, not after: past it, another replica may start.
			if !s.clock.Now().Add(s.opts.Heartbeat).Before(deadline) {
				s.log.Error("singleton: stopping before the lease lapses unrenewed; on standby until the store answers",
					"connector", instance, "key", l.Key)
				stop()
				s.show(instance, l.Key, "", false)
				return true, nil
			}
		}
	}
}

// release gives l up so that another replica takes it at once, even while ctx ends.
func (s *Singletons) release(ctx context.Context, instance normalize.InstanceName, l store.SingletonLease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.leases.ReleaseSingleton(ctx, l.Key, l.Token); err != nil {
		s.log.Warn("singleton: release the lease; it lapses by itself", "connector", instance, "key", l.Key, "err", err)
	}
	s.show(instance, l.Key, "", false)
}

// show puts who holds key on the board and in the metric; holder "" is unknown.
func (s *Singletons) show(instance normalize.InstanceName, key, holder string, here bool) {
	s.board.setSingleton(instance, Singleton{Key: key, Holder: holder, Here: here})
	s.held.WithLabelValues(string(instance), key).Set(boolGauge(here))
}

func (s *Singletons) sleep(ctx context.Context, d time.Duration) bool {
	t := s.clock.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C():
		return true
	}
}
