package health_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/health"
	"github.com/casino-support/gateway/router/store"
)

// memLeases keeps singleton leases in memory, on the bubble's clock, as the store does; a
// replica's calls can be made to fail (its database unreachable).
type memLeases struct {
	mu     sync.Mutex
	leases map[string]store.SingletonLease
	down   map[string]bool // owner -> its calls fail
	byTok  map[int64]string
}

func newMemLeases() *memLeases {
	return &memLeases{leases: map[string]store.SingletonLease{}, down: map[string]bool{}, byTok: map[int64]string{}}
}

var errDown = errors.New("database unreachable")

func (m *memLeases) setDown(owner string, down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down[owner] = down
}

func (m *memLeases) TakeSingleton(_ context.Context, key, owner string, lease time.Duration) (store.SingletonLease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down[owner] {
		return store.SingletonLease{}, errDown
	}
	l := m.leases[key]
	if !l.Held(time.Now()) || l.Owner == owner {
		l = store.SingletonLease{Key: key, Owner: owner, Token: l.Token + 1, Until: time.Now().Add(lease)}
		m.leases[key] = l
		m.byTok[l.Token] = owner
	}
	return l, nil
}

func (m *memLeases) RenewSingleton(_ context.Context, key string, token int64, lease time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down[m.byTok[token]] {
		return errDown
	}
	l := m.leases[key]
	if l.Token != token || l.Until.IsZero() {
		return store.ErrLeaseLost
	}
	l.Until = time.Now().Add(lease)
	m.leases[key] = l
	return nil
}

func (m *memLeases) ReleaseSingleton(_ context.Context, key string, token int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.leases[key]; l.Token == token {
		l.Until = time.Time{}
		m.leases[key] = l
	}
	return nil
}

// steal gives key to owner as a take after a lapse would.
func (m *memLeases) steal(key, owner string, lease time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.leases[key]
	m.leases[key] = store.SingletonLease{Key: key, Owner: owner, Token: l.Token + 1, Until: time.Now().Add(lease)}
}

// runs records which replica runs the singleton, and whether two ever ran it at once.
type runs struct {
	mu      sync.Mutex
	running map[string]bool
	overlap bool
	started []string
	stopped map[string]time.Time
}

func newRuns() *runs { return &runs{running: map[string]bool{}, stopped: map[string]time.Time{}} }

// run is the singleton of replica owner: it runs until its context ends.
func (r *runs) run(owner string) func(context.Context) error {
	return func(ctx context.Context) error {
		r.mu.Lock()
		if len(r.running) > 0 {
			r.overlap = true
		}
		r.running[owner] = true
		r.started = append(r.started, owner)
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		delete(r.running, owner)
		r.stopped[owner] = time.Now()
		r.mu.Unlock()
		return nil
	}
}

func (r *runs) holder() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for o := range r.running {
		return o, r.overlap
	}
	return "", r.overlap
}

const (
	lease     = 10 * time.Second
	heartbeat = 3 * time.Second
	key       = "telegram/bot"
)

// replica is one gateway's singletons on the shared leases.
type replica struct {
	owner  string
	board  *health.Board
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func startReplica(ctx context.Context, owner string, leases health.Leases, r *runs) *replica {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rep := &replica{owner: owner, board: health.New(nil, log, nil), reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	rep.board.Add("channel", "telegram", "tg")
	s := health.NewSingletons(rep.board, leases, health.SingletonOptions{Owner: owner, Lease: lease, Heartbeat: heartbeat}, rep.reg, log)
	ctx, rep.cancel = context.WithCancel(ctx)
	go func() { rep.done <- s.RunSingleton(ctx, "tg", key, r.run(owner)) }()
	return rep
}

func (rep *replica) singleton(t *testing.T) health.Singleton {
	t.Helper()
	st := rep.board.Statuses()
	require.Len(t, st, 1)
	require.NotNil(t, st[0].Singleton, "the board shows the singleton")
	return *st[0].Singleton
}

// held reads the replica's gateway_singleton_held gauge of tg.
func (rep *replica) held(t *testing.T) float64 {
	t.Helper()
	mfs, err := rep.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "gateway_singleton_held" {
			require.Len(t, mf.GetMetric(), 1)
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	require.Fail(t, "no gateway_singleton_held")
	return 0
}

// TestSingletonOneReplicaAtATime: of two replicas, one runs the singleton and the other waits
// on standby, each showing who holds it; when the holder stops cleanly, it releases the lease
// and the other takes over at its next try, within a heartbeat.
func TestSingletonOneReplicaAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leases, r := newMemLeases(), newRuns()
		a := startReplica(t.Context(), "replica-a", leases, r)
		synctest.Wait()
		b := startReplica(t.Context(), "replica-b", leases, r)
		synctest.Wait()
		time.Sleep(5 * lease) // many heartbeats and standby tries
		synctest.Wait()

		holder, overlap := r.holder()
		require.Equal(t, "replica-a", holder)
		require.False(t, overlap)
		require.Equal(t, health.Singleton{Key: key, Holder: "replica-a", Here: true}, a.singleton(t))
		require.Equal(t, health.Singleton{Key: key, Holder: "replica-a", Here: false}, b.singleton(t))
		require.Equal(t, 1.0, a.held(t))
		require.Equal(t, 0.0, b.held(t))

		a.cancel()
		require.NoError(t, <-a.done, "a clean stop returns nil")
		stoppedAt := time.Now()
		time.Sleep(heartbeat)
		synctest.Wait()
		holder, overlap = r.holder()
		require.Equal(t, "replica-b", holder, "a released lease is taken at the standby's next try")
		require.False(t, overlap)
		require.False(t, a.singleton(t).Here)
		require.Equal(t, health.Singleton{Key: key, Holder: "replica-b", Here: true}, b.singleton(t))
		require.LessOrEqual(t, time.Since(stoppedAt), heartbeat)
		b.cancel()
		require.NoError(t, <-b.done)
	})
}

// TestSingletonHolderCutOffStopsBeforeTheLapse: a holder whose store stops answering cancels
// its run before its lease lapses; the other replica takes over right after the lapse, so
// the two never run at once; when the store answers again, the first waits on standby.
func TestSingletonHolderCutOffStopsBeforeTheLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leases, r := newMemLeases(), newRuns()
		a := startReplica(t.Context(), "replica-a", leases, r)
		synctest.Wait()
		b := startReplica(t.Context(), "replica-b", leases, r)
		time.Sleep(heartbeat / 2)
		synctest.Wait()

		leases.setDown("replica-a", true)
		cutAt := time.Now()
		time.Sleep(2 * lease)
		synctest.Wait()
		holder, overlap := r.holder()
		require.Equal(t, "replica-b", holder, "the standby takes over once the cut-off holder's lease lapsed")
		require.False(t, overlap, "the cut-off holder stopped before its lease lapsed")
		r.mu.Lock()
		stopped := r.stopped["replica-a"]
		r.mu.Unlock()
		require.True(t, stopped.Before(cutAt.Add(lease)), "stopped %s after the cut, lease %s", stopped.Sub(cutAt), lease)

		leases.setDown("replica-a", false)
		time.Sleep(3 * lease)
		synctest.Wait()
		holder, overlap = r.holder()
		require.Equal(t, "replica-b", holder)
		require.False(t, overlap)
		require.Equal(t, health.Singleton{Key: key, Holder: "replica-b", Here: false}, a.singleton(t))
		a.cancel()
		b.cancel()
		require.NoError(t, <-a.done)
		require.NoError(t, <-b.done)
	})
}

// TestSingletonLostLeaseStopsTheRun: a holder whose renewal is refused (another took the
// lease) stops its run at once and goes on standby.
func TestSingletonLostLeaseStopsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leases, r := newMemLeases(), newRuns()
		a := startReplica(t.Context(), "replica-a", leases, r)
		synctest.Wait()
		leases.steal(key, "replica-z", lease)
		time.Sleep(heartbeat)
		synctest.Wait()
		holder, _ := r.holder()
		require.Empty(t, holder, "the run stops at the refused renewal")
		require.Equal(t, health.Singleton{Key: key, Holder: "replica-z", Here: false}, a.singleton(t))
		a.cancel()
		require.NoError(t, <-a.done)
	})
}

// TestSingletonFailedRunReleases: a run that fails returns its error from RunSingleton (the
// connector's supervisor restarts it) and releases the lease for another replica at once.
func TestSingletonFailedRunReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leases := newMemLeases()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		board := health.New(nil, log, nil)
		board.Add("helpdesk", "rt", "rt")
		s := health.NewSingletons(board, leases, health.SingletonOptions{Owner: "replica-a"}, nil, log)
		var calls atomic.Int32
		broken := errors.New("bad token")
		err := s.RunSingleton(t.Context(), "rt", "rt/desk", func(context.Context) error {
			calls.Add(1)
			return broken
		})
		require.ErrorIs(t, err, broken)
		require.Equal(t, int32(1), calls.Load())
		l, err := leases.TakeSingleton(t.Context(), "rt/desk", "replica-b", lease)
		require.NoError(t, err)
		require.Equal(t, "replica-b", l.Owner, "a failed run's lease is released")
		require.Equal(t, normalize.InstanceName("rt"), board.Statuses()[0].Name)
	})
}
