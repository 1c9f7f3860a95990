package autoreply_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/autoreply"
	"github.com/casino-support/gateway/router/calendar"
)

var languages = []string{"en", "ro", "ru", "sv", "de", "es", "pt", "it", "fr", "tr"}

func TestBuiltinTextsInEveryLanguage(t *testing.T) {
	require.Len(t, autoreply.Builtin, len(languages))
	r := newReplies(t, autoreply.Options{})
	opens := time.Date(2026, 12, 7, 9, 0, 0, 0, mustZone(t, "Europe/Bucharest"))
	now := opens.Add(-10 * time.Hour)
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			texts, ok := autoreply.Builtin[lang]
			require.True(t, ok)
			conv := normalize.Conversation{ID: "c1", Channel: "tg", ChannelKind: normalize.KindTelegram, Helpdesk: "desk", Language: lang}
			plain := r.Acknowledgement(conv, now)
			require.Equal(t, texts.Acknowledgement, plain.Text)
			conv.Ticket = "T-4711"
			withRef := r.Acknowledgement(conv, now)
			require.Contains(t, withRef.Text, "T-4711")
			notice, ok := r.OutOfHours(conv, opens, now)
			require.True(t, ok)
			require.Contains(t, notice.Text, "(UTC+2)")
			require.Contains(t, notice.Text, "09:00")
			require.Contains(t, notice.Text, "7")
			for _, text := range []string{plain.Text, withRef.Text, notice.Text} {
				require.NotEmpty(t, strings.TrimSpace(text))
				require.NotContains(t, text, "{", "every placeholder filled: %s", text)
				require.NotContains(t, text, "}", "every placeholder filled: %s", text)
			}
			// The texts differ from English's: each language is its own, not a copy.
			if lang != "en" {
				require.NotEqual(t, autoreply.Builtin["en"].Acknowledgement, texts.Acknowledgement)
			}
		})
	}
}

func TestFormatOpening(t *testing.T) {
	bucharest := mustZone(t, "Europe/Bucharest")
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, bucharest)
	tests := []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", monday, "Monday 7 December, 09:00 (UTC+2)"},
		{"ro", monday, "luni, 7 decembrie, ora 09:00 (UTC+2)"},
		{"ru", monday, "понедельник, 7 декабря, 09:00 (UTC+2)"},
		{"sv", monday, "måndag 7 december kl. 09:00 (UTC+2)"},
		{"de", monday, "Montag, 7. Dezember, 09:00 Uhr (UTC+2)"},
		{"es", monday, "lunes 7 de diciembre, a las 09:00 (UTC+2)"},
		{"pt-BR", monday, "segunda-feira, 7 de dezembro, às 09:00 (UTC+2)"},
		{"it", monday, "lunedì 7 dicembre, alle 09:00 (UTC+2)"},
		{"fr", monday, "lundi 7 décembre à 09:00 (UTC+2)"},
		{"tr", monday, "7 Aralık Pazartesi, 09:00 (UTC+2)"},
		{"nl", monday, "Monday 7 December, 09:00 (UTC+2)"},
		// Summer time is UTC+3; India's half hour; UTC itself.
		{"en", time.Date(2026, 7, 1, 9, 0, 0, 0, bucharest), "Wednesday 1 July, 09:00 (UTC+3)"},
		{"en", time.Date(2026, 7, 1, 9, 0, 0, 0, mustZone(t, "Asia/Kolkata")), "Wednesday 1 July, 09:00 (UTC+5:30)"},
		{"en", time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC), "Wednesday 1 July, 09:00 (UTC)"},
		{"pt", time.Date(2026, 7, 1, 9, 0, 0, 0, mustZone(t, "America/Sao_Paulo")), "quarta-feira, 1 de julho, às 09:00 (UTC-3)"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+" "+tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, autoreply.FormatOpening(tt.lang, tt.at))
		})
	}
}

func TestTextOverrides(t *testing.T) {
	tests := []struct {
		name  string
		texts map[string]autoreply.Texts
		lang  string
		want  string // the acknowledgement with ticket T-1, or the error
		err   bool
	}{
		{"one field of a built-in language", map[string]autoreply.Texts{"ro": {AcknowledgementTicket: "Mulțumim! Referința: {ticket}."}},
			"ro", "Mulțumim! Referința: T-1.", false},
		{"a language of its own, all three texts", map[string]autoreply.Texts{"nl": {Acknowledgement: "Bedankt.",
			AcknowledgementTicket: "Bedankt, {ticket}.", OutOfHours: "Gesloten tot {opens}."}}, "nl-BE", "Bedankt, T-1.", false},
		{"the ticket text without {ticket}", map[string]autoreply.Texts{"en": {AcknowledgementTicket: "Thanks."}}, "", "texts.en.acknowledgement_ticket: must hold {ticket}", true},
		{"an unknown placeholder", map[string]autoreply.Texts{"en": {OutOfHours: "Back {opens}, {player}."}}, "", "texts.en.out_of_hours: has the unknown placeholder {player}", true},
		{"a new language missing a text", map[string]autoreply.Texts{"nl": {Acknowledgement: "Bedankt."}}, "", "texts.nl.acknowledgement_ticket: required", true},
		{"a language without texts falls back to English", nil, "nl", strings.ReplaceAll(autoreply.Builtin["en"].AcknowledgementTicket, "{ticket}", "T-1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := autoreply.New(newRecords(), autoreply.Options{Texts: tt.texts}, nil, discard())
			if tt.err {
				require.ErrorContains(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			m := r.Acknowledgement(normalize.Conversation{ID: "c1", Helpdesk: "desk", Ticket: "T-1", Language: tt.lang}, time.Now())
			require.Equal(t, tt.want, m.Text)
		})
	}
}

func TestRulesPickByChannelKindAndVIPTier(t *testing.T) {
	hours := mustCalendar(t, "Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, []string{"2026-12-25"})
	always := mustCalendar(t, "Europe/Bucharest", []string{"mon-sun 00:00-24:00"}, nil)
	r := newReplies(t, autoreply.Options{Rules: []autoreply.Rule{
		{MinVIP: 3, Acknowledgement: true, OutOfHours: true, Hours: always},
		{Kinds: []normalize.ChannelKind{normalize.KindVoice}},
		{Kinds: []normalize.ChannelKind{normalize.KindEmail}, Acknowledgement: true},
		{Acknowledgement: true, OutOfHours: true, Hours: hours},
	}})
	christmasNoon := time.Date(2026, 12, 25, 12, 0, 0, 0, hours.Location())
	tests := []struct {
		name      string
		kind      normalize.ChannelKind
		vip       int
		ack, ooh  bool
		wantOpens string
	}{
		{"a VIP's desk never closes", normalize.KindTelegram, 3, true, false, ""},
		{"a VIP on voice is a VIP first", normalize.KindVoice, 4, true, false, ""},
		{"voice gets nothing", normalize.KindVoice, 0, false, false, ""},
		{"e-mail is acknowledged, never told of hours", normalize.KindEmail, 0, true, false, ""},
		{"chat on Christmas Day waits for Monday", normalize.KindTelegram, 1, true, true, "2026-12-28T09:00:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.ack, r.Acknowledges(normalize.Conversation{ChannelKind: tt.kind, Player: normalize.Author{VIPTier: tt.vip}}))
			opens, closed := r.Closed(normalize.Message{ChannelKind: tt.kind, Author: normalize.Author{VIPTier: tt.vip}}, christmasNoon)
			require.Equal(t, tt.ooh, closed)
			if tt.ooh {
				require.Equal(t, tt.wantOpens, opens.Format(time.RFC3339))
			}
		})
	}
	_, err := autoreply.New(newRecords(), autoreply.Options{Rules: []autoreply.Rule{{OutOfHours: true}}}, nil, discard())
	require.ErrorContains(t, err, "rules[0].hours: required")
}

// TestOutOfHoursOncePerPeriod: the notice's dedup key names the opening it promises, so the
// player's messages of one night share one notice, and the next night's get another.
func TestOutOfHoursOncePerPeriod(t *testing.T) {
	// New York: the spring-forward night of 2026-03-08 is in the middle of a closed weekend.
	hours := mustCalendar(t, "America/New_York", []string{"mon-fri 09:00-17:00"}, []string{"2026-03-09"})
	r := newReplies(t, autoreply.Options{Rules: []autoreply.Rule{{OutOfHours: true, Hours: hours}}})
	conv := normalize.Conversation{ID: "c1", Helpdesk: "desk", ChannelKind: normalize.KindWebchat, Language: "en"}
	m := normalize.Message{ChannelKind: normalize.KindWebchat}
	keyAt := func(at string) (normalize.ExternalID, string) {
		ts, err := time.Parse(time.RFC3339, at)
		require.NoError(t, err)
		opens, closed := r.Closed(m, ts)
		require.True(t, closed, at)
		reply, ok := r.OutOfHours(conv, opens, ts)
		require.True(t, ok)
		require.True(t, reply.AutoReply)
		require.Equal(t, normalize.Outbound, reply.Direction)
		require.Equal(t, normalize.InstanceName("desk"), reply.Source)
		require.Equal(t, autoreply.KindOutOfHours, autoreply.Kind(reply))
		return reply.ExternalID, reply.Text
	}
	friday, text := keyAt("2026-03-06T23:00:00Z")    // Friday 18:00 EST
	sunday, _ := keyAt("2026-03-08T08:00:00Z")       // Sunday 04:00 EDT, after the change
	monday, _ := keyAt("2026-03-09T15:00:00Z")       // Monday is a holiday
	tuesdayNight, _ := keyAt("2026-03-11T02:00:00Z") // Tuesday 22:00 EDT
	require.Equal(t, friday, sunday, "one weekend, one notice, across the DST change")
	require.Equal(t, friday, monday, "the holiday extends the period")
	require.NotEqual(t, friday, tuesdayNight)
	require.Contains(t, text, "Tuesday 10 March, 09:00 (UTC-4)", "the opening is in summer time already")

	conv.Tags = []string{autoreply.TagResponsibleGambling}
	_, ok := r.OutOfHours(conv, time.Now(), time.Now())
	require.False(t, ok, "a conversation flagged for duty of care is left to a human")
}

// TestAcknowledgementKeyIsTheConversations: with or without the reference, at any time, a
// conversation's acknowledgement has one dedup key, so the store keeps the first only.
func TestAcknowledgementKeyIsTheConversations(t *testing.T) {
	r := newReplies(t, autoreply.Options{})
	conv := normalize.Conversation{ID: "c1", Helpdesk: "desk", Language: "ro"}
	a := r.Acknowledgement(conv, time.Now())
	conv.Ticket = "T-9"
	b := r.Acknowledgement(conv, time.Now().Add(time.Hour))
	require.Equal(t, a.ExternalID, b.ExternalID)
	require.Equal(t, autoreply.KindAcknowledgement, autoreply.Kind(b))
	require.Equal(t, normalize.RoleSystem, b.Author.Role, "the gateway's words stop no first-response clock")
	require.Empty(t, autoreply.Kind(normalize.Message{ExternalID: a.ExternalID}), "only a message marked AutoReply is one")
}

func TestWaitingAcknowledgements(t *testing.T) {
	recs := newRecords()
	reg := prometheus.NewRegistry()
	r, err := autoreply.New(recs, autoreply.Options{Wait: time.Minute}, reg, discard())
	require.NoError(t, err)
	ctx := t.Context()
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	require.NoError(t, r.Waiting(ctx, normalize.Conversation{ID: "c1"}, t0))
	require.NoError(t, r.Waiting(ctx, normalize.Conversation{ID: "c2"}, t0.Add(30*time.Second)))
	// A second post attempt does not push the due time back.
	require.NoError(t, r.Waiting(ctx, normalize.Conversation{ID: "c1"}, t0.Add(50*time.Second)))

	due, err := r.Due(ctx, t0.Add(59*time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, due)
	due, err = r.Due(ctx, t0.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []normalize.ConversationID{"c1"}, due)
	require.NoError(t, r.Done(ctx, "c1"))
	due, err = r.Due(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, []normalize.ConversationID{"c2"}, due)

	r.Stored(normalize.Conversation{ID: "c2", Channel: "tg"}, r.Acknowledgement(normalize.Conversation{ID: "c2", Helpdesk: "desk"}, t0))
	require.Equal(t, 1.0, sum(t, reg, "gateway_autoreplies_total"))
}

// sum is the sum of the metric name's series in reg.
func sum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func newReplies(t *testing.T, opts autoreply.Options) *autoreply.Replies {
	t.Helper()
	r, err := autoreply.New(newRecords(), opts, nil, discard())
	require.NoError(t, err)
	return r
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func mustCalendar(t *testing.T, zone string, weekly, holidays []string) *calendar.Calendar {
	t.Helper()
	c, err := calendar.New(zone, weekly, holidays)
	require.NoError(t, err)
	return c
}

// records is connectors.Records in memory, without expiry.
type records struct {
	mu sync.Mutex
	m  map[string]string
}

func newRecords() *records { return &records{m: map[string]string{}} }

func (r *records) PutRecord(_ context.Context, inst normalize.InstanceName, key, value string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[string(inst)+"\x00"+key] = value
	return nil
}

func (r *records) Record(_ context.Context, inst normalize.InstanceName, key string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[string(inst)+"\x00"+key]
	return v, ok, nil
}

func (r *records) DeleteRecord(_ context.Context, inst normalize.InstanceName, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, string(inst)+"\x00"+key)
	return nil
}

func (r *records) ListRecords(_ context.Context, inst normalize.InstanceName, prefix, after string, limit int) ([]connectors.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for k := range r.m {
		i, key, _ := strings.Cut(k, "\x00")
		if i == string(inst) && strings.HasPrefix(key, prefix) && key > after {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	var out []connectors.Record
	for _, k := range keys[:min(len(keys), limit)] {
		out = append(out, connectors.Record{Key: k, Value: r.m[string(inst)+"\x00"+k]})
	}
	return out, nil
}
