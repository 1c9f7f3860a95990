package router_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/language"
	"github.com/casino-support/gateway/router/playerdir"
	"github.com/casino-support/gateway/router/store"
	fakedir "github.com/casino-support/gateway/test/playerdir"
)

// updatesHelpdesk keeps the Updates posted to it, by conversation.
type updatesHelpdesk struct {
	mu      sync.Mutex
	updates map[normalize.ConversationID][]normalize.Update
	convs   map[normalize.ConversationID]normalize.Conversation
}

func (h *updatesHelpdesk) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }

func (h *updatesHelpdesk) Post(_ context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.convs[conv.ID] = conv
	ids := make([]normalize.ExternalID, len(msgs))
	for i, m := range msgs {
		if m.Update != nil {
			h.updates[conv.ID] = append(h.updates[conv.ID], *m.Update)
		}
		ids[i] = normalize.ExternalID("hd-" + string(m.ID))
	}
	return normalize.Ref("T-" + string(conv.ID)), ids, nil
}

func (h *updatesHelpdesk) languageUpdates(conv normalize.ConversationID) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var langs []string
	for _, u := range h.updates[conv] {
		if u.Has(normalize.FieldLanguage) {
			langs = append(langs, u.Language)
		}
	}
	return langs
}

type policyFixture struct {
	st  *store.Store
	r   *router.Router
	hds map[normalize.InstanceName]*updatesHelpdesk
	ctx context.Context
	seq int
}

func newPolicyFixture(t *testing.T, opts router.Options, rules router.Rules) *policyFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gw.db"), store.Options{})
	require.NoError(t, err)
	f := &policyFixture{st: st, ctx: ctx, hds: map[normalize.InstanceName]*updatesHelpdesk{}}
	helpdesks := map[normalize.InstanceName]connectors.Helpdesk{}
	for _, name := range []normalize.InstanceName{"desk", "vip-desk"} {
		f.hds[name] = &updatesHelpdesk{updates: map[normalize.ConversationID][]normalize.Update{}, convs: map[normalize.ConversationID]normalize.Conversation{}}
		helpdesks[name] = f.hds[name]
	}
	f.r = router.New(st, map[normalize.InstanceName]connectors.Channel{"tg": &memChannel{sent: map[normalize.Address][]string{}}},
		helpdesks, rules, opts, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() { f.r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return f
}

// fromTelegram is a player's message on Telegram, with a fresh external ID.
func (f *policyFixture) fromTelegram(addr, text, hint string) normalize.Message {
	f.seq++
	return normalize.Message{Direction: normalize.Inbound, Source: "tg", Channel: "tg", ChannelKind: normalize.KindTelegram,
		Address: normalize.Address(addr), ExternalID: normalize.ExternalID(fmt.Sprintf("%s-%d", addr, f.seq)),
		Author: normalize.Author{Role: normalize.RolePlayer, Language: hint, ExternalID: addr}, Kind: normalize.KindText, Text: text}
}

// The conversation's language follows the player's words, falls back to the channel's hint
// on short texts, keeps its language when neither says anything, and every change reaches the
// helpdesk as an Update.
func TestLanguageOfEachMessage(t *testing.T) {
	det, err := language.New([]string{"en", "ro", "ru", "sv", "de", "es", "pt", "it", "fr", "tr"}, language.Options{})
	require.NoError(t, err)
	f := newPolicyFixture(t, router.Options{Languages: det}, router.Rules{Default: "desk"})
	lang := func() string {
		c, err := f.st.ConversationAt(f.ctx, "tg", "p1")
		require.NoError(t, err)
		return c.Language
	}
	steps := []struct {
		text, hint, want string
	}{
		{"Când ajung banii retrași? Au trecut trei zile.", "en", "ro"}, // the words, not the app's language
		{"ok", "", "ro"},           // nothing to go by: the conversation keeps its language
		{"Mersi", "ja", "ro"},      // a hint of a language not configured is no hint
		{"Спасибо", "ru-RU", "ru"}, // a short text: the hint, as a configured code
		{"Hesabım bloke edildi, lütfen yardım edin", "ru", "tr"},
	}
	for _, s := range steps {
		require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("p1", s.text, s.hint)))
		require.Equal(t, s.want, lang(), s.text)
	}
	c, err := f.st.ConversationAt(f.ctx, "tg", "p1")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return len(f.hds["desk"].languageUpdates(c.ID)) == 2
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{"ru", "tr"}, f.hds["desk"].languageUpdates(c.ID))
}

// stubDirectory answers from a map, as the cache in front of a directory would.
type stubDirectory map[normalize.Address]playerdir.Player

func (d stubDirectory) Lookup(_ context.Context, q playerdir.Query) (playerdir.Player, bool) {
	p, ok := d[q.Address]
	return p, ok
}

// A player the directory knows as VIP tier 3 opens a conversation that the VIP rule routes,
// with high priority and the player's ID and name, on the very first message.
func TestDirectoryFillsThePlayerBeforeRouting(t *testing.T) {
	dir := stubDirectory{"vip": {PlayerID: "P-1001", Name: "Ana Popescu", VIPTier: 3}}
	f := newPolicyFixture(t, router.Options{Directory: dir},
		router.Rules{Default: "desk", List: []router.Rule{{MinVIP: 3, Helpdesk: "vip-desk"}}})
	require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("vip", "hello", "en"), f.fromTelegram("nobody", "hello", "en")))

	vip, err := f.st.ConversationAt(f.ctx, "tg", "vip")
	require.NoError(t, err)
	require.Equal(t, normalize.InstanceName("vip-desk"), vip.Helpdesk)
	require.Equal(t, normalize.PriorityHigh, vip.Priority)
	require.Equal(t, "P-1001", vip.Player.PlayerID)
	require.Equal(t, 3, vip.Player.VIPTier)
	require.Equal(t, "Ana Popescu", vip.Player.DisplayName)

	other, err := f.st.ConversationAt(f.ctx, "tg", "nobody")
	require.NoError(t, err)
	require.Equal(t, normalize.InstanceName("desk"), other.Helpdesk)
	require.Empty(t, other.Player.PlayerID)
}

// A player the directory learns of later (the CRM was slow the first time) gets an Update
// with the player ID and tier on their next message.
func TestDirectoryAnswerOnALaterMessageIsAnUpdate(t *testing.T) {
	dir := stubDirectory{}
	f := newPolicyFixture(t, router.Options{Directory: dir}, router.Rules{Default: "desk"})
	require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("late", "hello", "en")))
	dir["late"] = playerdir.Player{PlayerID: "P-7", VIPTier: 2}
	require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("late", "still there?", "en")))
	c, err := f.st.ConversationAt(f.ctx, "tg", "late")
	require.NoError(t, err)
	require.Equal(t, 2, c.Player.VIPTier)
	require.Eventually(t, func() bool {
		h := f.hds["desk"]
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, u := range h.updates[c.ID] {
			if u.Has(normalize.FieldVIPTier) && u.Has(normalize.FieldPlayerID) && u.VIPTier == 2 && u.PlayerID == "P-7" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
}

// The real cache in front of a directory that hangs: the message is stored within the
// budget, without the player's details.
func TestSlowDirectoryDoesNotHoldDelivery(t *testing.T) {
	fake := fakedir.Start("directory-secret-of-16+")
	t.Cleanup(fake.Close)
	fake.Add(fakedir.Player{PlayerID: "P-1", VIPTier: 3}, "telegram", "slow")
	fake.SetDelay(5 * time.Second)
	cache := playerdir.NewCache(playerdir.NewHook(fake.URL, []byte("directory-secret-of-16+"), nil),
		playerdir.CacheOptions{Budget: 50 * time.Millisecond, Timeout: 10 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f := newPolicyFixture(t, router.Options{Directory: cache}, router.Rules{Default: "desk"})
	start := time.Now()
	require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("slow", "hello", "en")))
	require.Less(t, time.Since(start), 4*time.Second, "Deliver waited for the directory, not its budget")
	c, err := f.st.ConversationAt(f.ctx, "tg", "slow")
	require.NoError(t, err)
	require.Zero(t, c.Player.VIPTier)
}
