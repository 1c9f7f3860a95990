package conformance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store"
)

// singletonLease is the suite's singleton lease: long enough that only the fake clock lapses it.
const singletonLease = 10 * time.Second

// takeSingleton takes key for owner and returns the lease as it stands after.
func (f *storeFixture) takeSingleton(key, owner string) store.SingletonLease {
	f.t.Helper()
	l, err := f.st.TakeSingleton(f.ctx, key, owner, singletonLease)
	require.NoError(f.t, err, "TakeSingleton(%s, %s)", key, owner)
	require.Equal(f.t, key, l.Key)
	return l
}

// storeSingletonTake: a free singleton is taken; while it is held, another owner's take
// finds the holder and changes nothing; keys are apart.
func storeSingletonTake(t *testing.T, f *storeFixture) {
	a := f.takeSingleton("telegram/bot", owner1)
	require.Equal(t, owner1, a.Owner, "a singleton never taken goes to the first taker")
	require.True(t, a.Held(f.clk.Now()))
	require.Equal(t, f.clk.Now().Add(singletonLease), a.Until)

	f.clk.Advance(singletonLease / 2)
	b := f.takeSingleton("telegram/bot", owner2)
	require.Equal(t, a, b, "a held singleton stays its holder's, with its token and lapse")

	other := f.takeSingleton("rt/desk", owner2)
	require.Equal(t, owner2, other.Owner, "each key is a lease of its own")

	again := f.takeSingleton("telegram/bot", owner1)
	require.Equal(t, owner1, again.Owner, "the holder may take its own lease again")
	require.Greater(t, again.Token, a.Token, "every take gets a new token")
	require.ErrorIs(t, f.st.RenewSingleton(f.ctx, "telegram/bot", a.Token, singletonLease), store.ErrLeaseLost,
		"the older take's token is refused")
}

// storeSingletonLapse: renewals keep the lease past its first term; once its holder stops
// renewing it lapses and another owner takes it, after which the old holder's renewals are
// refused. A lapsed lease nobody took is taken back by renewing.
func storeSingletonLapse(t *testing.T, f *storeFixture) {
	a := f.takeSingleton("imap/support", owner1)
	for range 3 {
		f.clk.Advance(singletonLease * 3 / 4)
		require.NoError(t, f.st.RenewSingleton(f.ctx, "imap/support", a.Token, singletonLease), "RenewSingleton()")
		require.Equal(t, owner1, f.takeSingleton("imap/support", owner2).Owner, "a renewed lease must hold")
	}
	f.clk.Advance(singletonLease + time.Millisecond)
	require.NoError(t, f.st.RenewSingleton(f.ctx, "imap/support", a.Token, singletonLease),
		"a lapsed lease that nobody took is taken back")
	require.Equal(t, owner1, f.takeSingleton("imap/support", owner2).Owner)

	f.clk.Advance(singletonLease)
	require.False(t, store.SingletonLease{Until: f.clk.Now()}.Held(f.clk.Now()), "a lease lapses at its Until")
	b := f.takeSingleton("imap/support", owner2)
	require.Equal(t, owner2, b.Owner, "a lapsed lease is taken by another owner")
	require.Greater(t, b.Token, a.Token)
	require.ErrorIs(t, f.st.RenewSingleton(f.ctx, "imap/support", a.Token, singletonLease), store.ErrLeaseLost,
		"the old holder's renewal is refused once another took the lease")
	require.NoError(t, f.st.ReleaseSingleton(f.ctx, "imap/support", a.Token), "an outdated release is no error")
	require.Equal(t, owner2, f.takeSingleton("imap/support", owner1).Owner, "an outdated release leaves the new holder alone")
	require.NoError(t, f.st.RenewSingleton(f.ctx, "imap/support", b.Token, singletonLease))
}

// storeSingletonRelease: a released lease is free at once, and cannot be renewed.
func storeSingletonRelease(t *testing.T, f *storeFixture) {
	a := f.takeSingleton("rt/desk", owner1)
	require.NoError(t, f.st.ReleaseSingleton(f.ctx, "rt/desk", a.Token), "ReleaseSingleton()")
	require.ErrorIs(t, f.st.RenewSingleton(f.ctx, "rt/desk", a.Token, singletonLease), store.ErrLeaseLost,
		"a released lease cannot be renewed")
	b := f.takeSingleton("rt/desk", owner2)
	require.Equal(t, owner2, b.Owner, "a released lease is taken at once, without waiting for its lapse")
	require.True(t, b.Held(f.clk.Now()))
}
