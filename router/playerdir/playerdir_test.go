package playerdir_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/playerdir"
	fake "github.com/casino-support/gateway/test/playerdir"
)

const secret = "directory-secret-of-16+"

var (
	ana   = fake.Player{PlayerID: "P-1001", Name: "Ana Popescu", VIPTier: 3, Country: "RO", AccountStatus: "active", KYCStatus: "verified", PersonalManager: "mgr-ioana"}
	byTG  = playerdir.Query{Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "4242"}
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func startFake(t *testing.T) *fake.Fake {
	t.Helper()
	f := fake.Start(secret)
	t.Cleanup(f.Close)
	f.Add(ana, "telegram", "4242")
	return f
}

func TestHook(t *testing.T) {
	f := startFake(t)
	hook := playerdir.NewHook(f.URL, []byte(secret), nil)
	ctx := context.Background()

	p, err := hook.Lookup(ctx, byTG)
	require.NoError(t, err)
	require.Equal(t, playerdir.Player{PlayerID: "P-1001", Name: "Ana Popescu", VIPTier: 3, Country: "RO", AccountStatus: "active",
		KYCStatus: "verified", PersonalManager: "mgr-ioana"}, p)
	require.Equal(t, []fake.Request{{Channel: "tg-main", ChannelKind: "telegram", Address: "4242"}}, f.Requests())

	p, err = hook.Lookup(ctx, playerdir.Query{PlayerID: "P-1001", Channel: "chat", ChannelKind: normalize.KindWebchat, Address: "v1"})
	require.NoError(t, err)
	require.Equal(t, 3, p.VIPTier)

	_, err = hook.Lookup(ctx, playerdir.Query{Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "999"})
	require.ErrorIs(t, err, playerdir.ErrNotFound)

	f.SetStatus(http.StatusServiceUnavailable)
	_, err = hook.Lookup(ctx, byTG)
	require.Error(t, err)
	require.NotErrorIs(t, err, playerdir.ErrNotFound, "a failing directory is not an answer")
}

func TestHookSignsLikeTheWebhookHelpdesk(t *testing.T) {
	f := startFake(t)
	_, err := playerdir.NewHook(f.URL, []byte("another-secret-of-16+"), nil).Lookup(context.Background(), byTG)
	require.ErrorContains(t, err, "401")
	require.Equal(t, 1, f.Refused())
	require.Empty(t, f.Requests())
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "players.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`players:
  - player_id: P-1001
    name: Ana Popescu
    vip_tier: 3
    country: RO
    account_status: active
    kyc_status: verified
    personal_manager: mgr-ioana
    addresses:
      - {channel: telegram, address: "4242"}
      - {channel: email, address: Ana@Example.com}
  - player_id: P-2002
    addresses:
      - {channel: chat-eu, address: visitor-7}
`), 0o600))
	file, err := playerdir.LoadFile(path)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		q    playerdir.Query
		want string
	}{
		{"telegram by channel type", byTG, "P-1001"},
		{"e-mail by sender, any case", playerdir.Query{Channel: "mail", ChannelKind: normalize.KindEmail, Address: "thread-1", Email: "ana@example.COM"}, "P-1001"},
		{"by channel instance", playerdir.Query{Channel: "chat-eu", ChannelKind: normalize.KindWebchat, Address: "visitor-7"}, "P-2002"},
		{"by player ID", playerdir.Query{PlayerID: "P-2002", Channel: "chat", ChannelKind: normalize.KindWebchat, Address: "x"}, "P-2002"},
		{"other instance's address", playerdir.Query{Channel: "chat-us", ChannelKind: normalize.KindWebchat, Address: "visitor-7"}, ""},
		{"unknown", playerdir.Query{Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := file.Lookup(context.Background(), tc.q)
			if tc.want == "" {
				require.ErrorIs(t, err, playerdir.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, p.PlayerID)
		})
	}
	p, _ := file.Lookup(context.Background(), byTG)
	require.Equal(t, playerdir.Player{PlayerID: "P-1001", Name: "Ana Popescu", VIPTier: 3, Country: "RO", AccountStatus: "active",
		KYCStatus: "verified", PersonalManager: "mgr-ioana"}, p)
}

func TestLoadFileRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"no player_id":      "players:\n  - name: x\n",
		"player_id twice":   "players:\n  - player_id: a\n  - player_id: a\n",
		"address unnamed":   "players:\n  - player_id: a\n    addresses: [{channel: telegram}]\n",
		"unknown key":       "players:\n  - player_id: a\n    vip: 3\n",
		"not a player list": "players: 3\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "players.yaml")
			require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
			_, err := playerdir.LoadFile(path)
			require.Error(t, err)
		})
	}
}

// clock is a settable time for the cache's TTLs.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newCache(f *fake.Fake, opts playerdir.CacheOptions) *playerdir.Cache {
	return playerdir.NewCache(playerdir.NewHook(f.URL, []byte(secret), nil), opts, quiet)
}

func TestCacheRemembersForTTL(t *testing.T) {
	f := startFake(t)
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCache(f, playerdir.CacheOptions{TTL: time.Minute, NegativeTTL: 10 * time.Second, Budget: 10 * time.Second, Now: clk.Now})
	ctx := context.Background()

	p, found := c.Lookup(ctx, byTG)
	require.True(t, found)
	require.Equal(t, 3, p.VIPTier)
	_, found = c.Lookup(ctx, byTG)
	require.True(t, found)
	_, found = c.Lookup(ctx, playerdir.Query{PlayerID: "P-1001"})
	require.True(t, found, "the player's ID answers from the cache too")
	require.Len(t, f.Requests(), 1)

	clk.Advance(time.Minute)
	ana2 := ana
	ana2.VIPTier = 4
	f.Add(ana2, "telegram", "4242")
	p, _ = c.Lookup(ctx, byTG)
	require.Equal(t, 4, p.VIPTier, "past the TTL the directory is asked again")
	require.Len(t, f.Requests(), 2)
}

func TestCacheRemembersUnknownPlayersAndFailuresForNegativeTTL(t *testing.T) {
	for name, break_ := range map[string]func(*fake.Fake){
		"unknown player": func(*fake.Fake) {},
		"failing":        func(f *fake.Fake) { f.SetStatus(http.StatusInternalServerError) },
	} {
		t.Run(name, func(t *testing.T) {
			f := startFake(t)
			break_(f)
			clk := &clock{now: time.Unix(1_800_000_000, 0)}
			c := newCache(f, playerdir.CacheOptions{TTL: time.Hour, NegativeTTL: 30 * time.Second, Budget: 10 * time.Second, Now: clk.Now})
			unknown := playerdir.Query{Channel: "tg-main", ChannelKind: normalize.KindTelegram, Address: "777"}
			for range 3 {
				_, found := c.Lookup(context.Background(), unknown)
				require.False(t, found)
			}
			require.Len(t, f.Requests(), 1)
			clk.Advance(30 * time.Second)
			f.SetStatus(0)
			f.Add(fake.Player{PlayerID: "P-777", VIPTier: 1}, "telegram", "777")
			p, found := c.Lookup(context.Background(), unknown)
			require.True(t, found, "past the negative TTL the directory is asked again")
			require.Equal(t, "P-777", p.PlayerID)
		})
	}
}

// A slow directory costs a message no more than the budget; its late answer fills the cache
// for the player's next message, and the look-ups meanwhile share the one question.
func TestCacheBudget(t *testing.T) {
	f := startFake(t)
	f.SetDelay(3 * time.Second)
	c := newCache(f, playerdir.CacheOptions{Budget: 50 * time.Millisecond})
	start := time.Now()
	_, found := c.Lookup(context.Background(), byTG)
	require.False(t, found)
	require.Less(t, time.Since(start), 2500*time.Millisecond, "the look-up gave up at its budget, not at the directory's answer")
	_, found = c.Lookup(context.Background(), byTG)
	require.False(t, found)

	require.Eventually(t, func() bool {
		p, found := c.Lookup(context.Background(), byTG)
		return found && p.VIPTier == 3
	}, 10*time.Second, 100*time.Millisecond)
	require.Len(t, f.Requests(), 1, "look-ups during the slow question waited for it instead of asking again")
}

func TestCacheGivesUpWhenTheMessageDoes(t *testing.T) {
	f := startFake(t)
	f.SetDelay(time.Second)
	c := newCache(f, playerdir.CacheOptions{Budget: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, found := c.Lookup(ctx, byTG)
	require.False(t, found)
}

func TestCacheTimeoutBoundsTheQuestion(t *testing.T) {
	f := startFake(t)
	f.SetDelay(5 * time.Second)
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCache(f, playerdir.CacheOptions{Budget: 10 * time.Millisecond, Timeout: 100 * time.Millisecond, NegativeTTL: time.Second, Now: clk.Now})
	_, found := c.Lookup(context.Background(), byTG)
	require.False(t, found)
	// Well past the timeout the question has ended as a failure, remembered as such: the
	// next look-up asks nothing (the directory is still busy with the first request).
	time.Sleep(time.Second)
	_, found = c.Lookup(context.Background(), byTG)
	require.False(t, found)
	require.Len(t, f.Requests(), 1)
	clk.Advance(time.Second)
	_, _ = c.Lookup(context.Background(), byTG)
	require.Eventually(t, func() bool { return len(f.Requests()) == 2 }, 5*time.Second, 20*time.Millisecond,
		"past the negative TTL the directory is asked again")
}
