package chatwoot

import (
	"context"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/ratelimit"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/chatwootfake"
)

// TestNewConversationCarriesMetadata: the contact, the subject, the custom attributes, the
// labels and the priority a conversation is opened with, per kind of player.
func TestNewConversationCarriesMetadata(t *testing.T) {
	cases := []struct {
		name       string
		conv       normalize.Conversation
		email      string
		identifier string
		phone      string
		labels     []string
		priority   string
	}{
		{"telegram VIP", normalize.Conversation{Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "4711", Language: "de",
			Priority: normalize.PriorityNormal, Tags: []string{"Bonus Abuse", "kyc"},
			Player: normalize.Author{DisplayName: "Klaus", VIPTier: 2, PlayerID: "p-1"}},
			"", "tg:4711", "", []string{"bonus-abuse", "kyc", "vip"}, "high"},
		{"e-mail player", normalize.Conversation{Channel: "mail", ChannelKind: normalize.KindEmail, Address: "thread-1", Language: "en",
			Priority: normalize.PriorityLow, Player: normalize.Author{DisplayName: "Ann", Email: "Ann@Example.com"}},
			"ann@example.com", "", "", nil, "low"},
		{"whatsapp number", normalize.Conversation{Channel: "wa", ChannelKind: normalize.KindWhatsApp, Address: "+4917012345678",
			Priority: normalize.PriorityUrgent, Player: normalize.Author{}},
			"", "wa:+4917012345678", "+4917012345678", nil, "urgent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, true)
			conv := c.conv
			conv.ID = normalize.NewConversationID()
			ticket, _, err := e.hd.Post(t.Context(), conv, deliveries(conv, "Where is my withdrawal?\nIt has been a week."))
			require.NoError(t, err)
			cw, ok := e.fake.Conversation(ticketID(t, ticket))
			require.True(t, ok)
			require.Equal(t, "Where is my withdrawal?", cw.AdditionalAttributes["mail_subject"])
			require.Equal(t, string(conv.ID), cw.CustomAttributes[attrConversation])
			require.Equal(t, string(conv.Channel), cw.CustomAttributes["channel"])
			require.Equal(t, conv.Language, cw.CustomAttributes["language"])
			require.EqualValues(t, conv.Player.VIPTier, cw.CustomAttributes["vip_tier"])
			require.Equal(t, c.labels, cw.Labels)
			require.Equal(t, c.priority, cw.Priority)
			contacts := e.fake.Contacts()
			require.Len(t, contacts, 1)
			require.Equal(t, c.email, contacts[0].Email, "a messenger player gets no made-up address")
			require.Equal(t, c.identifier, contacts[0].Identifier)
			require.Equal(t, c.phone, contacts[0].PhoneNumber)
			require.Equal(t, chatwootfake.Incoming, cw.Messages[0].Type, "the player's message is the contact's, not an agent's")
		})
	}
}

// TestKnownPlayerKeepsTheirContact: a second conversation of a player, from another gateway
// instance (a restart: nothing cached), finds the contact instead of making another.
func TestKnownPlayerKeepsTheirContact(t *testing.T) {
	e := newEnv(t, true)
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "99"}
	first, _, err := e.hd.Post(t.Context(), conv, deliveries(conv, "hello"))
	require.NoError(t, err)

	again, err := New("chatwoot-test", e.hd.cfg, Deps{})
	require.NoError(t, err)
	conv2 := conv
	conv2.ID = normalize.NewConversationID()
	second, _, err := again.Post(t.Context(), conv2, deliveries(conv2, "me again"))
	require.NoError(t, err)
	require.NotEqual(t, first, second)
	require.Len(t, e.fake.Contacts(), 1, "one contact per player")
	require.Len(t, e.fake.Contacts()[0].SourceIDs, 2, "the contact's own inbox source and the gateway's")
}

// TestFollowUpOpensALinkedConversation: a player writing after the agent resolved the
// conversation gets a new one that names the old (the router moved the ticket to FollowUpOf),
// and its retry finds the new one, never the old.
func TestFollowUpOpensALinkedConversation(t *testing.T) {
	e := newEnv(t, true)
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "web", ChannelKind: normalize.KindWebchat, Address: "s-1"}
	old, _, err := e.hd.Post(t.Context(), conv, deliveries(conv, "my deposit failed"))
	require.NoError(t, err)
	_, _ = e.fake.SetStatus(t.Context(), ticketID(t, old), "resolved") // the hook does not run: Chatwoot would retry

	conv.Ticket, conv.FollowUpOf = "", old
	msgs := deliveries(conv, "it failed again")
	ticket, ids, err := e.hd.Post(t.Context(), conv, msgs)
	require.NoError(t, err)
	require.NotEqual(t, old, ticket)
	cw, _ := e.fake.Conversation(ticketID(t, ticket))
	require.Equal(t, string(old), cw.CustomAttributes[attrFollowUpOf])
	require.Contains(t, cw.Labels, "follow-up")
	require.Contains(t, cw.AdditionalAttributes["mail_subject"], "follow-up of #"+string(old))

	again, againIDs, err := e.hd.Post(t.Context(), conv, retried(msgs))
	require.NoError(t, err)
	require.Equal(t, ticket, again, "a retry finds the follow-up, not the closed conversation")
	require.Equal(t, ids, againIDs)
	require.Len(t, e.fake.Conversations(), 2)
}

// TestUpdateSetsAttributesAndLeavesANote: a change of the metadata sets the attributes and
// the priority, and tells the agents in a private note, which the hook never forwards.
func TestUpdateSetsAttributesAndLeavesANote(t *testing.T) {
	e := newEnv(t, true)
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "5", Priority: normalize.PriorityNormal}
	ticket, _, err := e.hd.Post(t.Context(), conv, deliveries(conv, "hi"))
	require.NoError(t, err)
	conv.Ticket = ticket
	breached := time.Now().Add(-time.Minute)
	upd := connectors.Delivery{Attempt: 1, Message: normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound, Kind: normalize.KindSystem,
		Text: "VIP tier 3; the first answer is late.", Update: &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier, normalize.FieldSLA},
			Language: "pt-BR", VIPTier: 3, Priority: normalize.PriorityNormal,
			SLA: normalize.SLA{AwaitingSince: breached.Add(-time.Hour), DueAt: breached, BreachedAt: breached}}}}
	_, ids, err := e.hd.Post(t.Context(), conv, []connectors.Delivery{upd})
	require.NoError(t, err)
	cw, _ := e.fake.Conversation(ticketID(t, ticket))
	require.EqualValues(t, 3, cw.CustomAttributes["vip_tier"])
	require.Equal(t, "pt-BR", cw.CustomAttributes["language"])
	require.Equal(t, "breached", cw.CustomAttributes["sla_state"])
	require.Equal(t, "urgent", cw.Priority, "normal, one up for VIP, one up for the breach")
	note := cw.Messages[len(cw.Messages)-1]
	require.Equal(t, strconv.Itoa(note.ID), string(ids[0]))
	require.True(t, note.Private, "the update is a private note")
	require.Equal(t, "VIP tier 3; the first answer is late.", note.Content)
}

// TestPacerSlowsDownBeforeTheLimit: against a Chatwoot that announces its quota, the
// connector spaces its requests once few are left and never runs into a 429.
func TestPacerSlowsDownBeforeTheLimit(t *testing.T) {
	fake := chatwootfake.New(t, chatwootfake.Options{RateLimit: 12, RateWindow: 2 * time.Second})
	cfg := DefaultConfig()
	cfg.URL, cfg.AccountID, cfg.InboxID, cfg.APIToken, cfg.WebhookSecret = fake.URL, 1, 1, "test-token", testSecret
	cfg.SlowBelow = 6
	hd, err := New("cw", *cfg, Deps{})
	require.NoError(t, err)
	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "1"}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ticket, _, err := hd.Post(ctx, conv, deliveries(conv, "one"))
	require.NoError(t, err)
	conv.Ticket = ticket
	for i := range 12 {
		for {
			_, _, err = hd.Post(ctx, conv, deliveries(conv, "more "+strconv.Itoa(i)))
			if _, deferred := connectors.RetryDelay(err); !deferred {
				break
			}
			time.Sleep(100 * time.Millisecond) // the router would wait the deferral out
		}
		require.NoError(t, err, "message %d", i)
	}
	require.Positive(t, counterValue(t, hd.metrics.paced.WithLabelValues(ratelimit.ReasonQuota)), "the pacer never held a request back")
	require.Zero(t, fake.Throttled(), "the connector ran into Chatwoot's limit")
}

// retried returns ds as the router hands them over again.
func retried(ds []connectors.Delivery) []connectors.Delivery {
	out := make([]connectors.Delivery, len(ds))
	for i, d := range ds {
		d.Attempt++
		out[i] = d
	}
	return out
}

// counterValue reads a counter.
func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func TestMessageText(t *testing.T) {
	cases := []struct {
		name string
		m    normalize.Message
		want string
	}{
		{"text", normalize.Message{Kind: normalize.KindText, Text: "hi"}, "hi"},
		{"location", normalize.Message{Kind: normalize.KindLocation, Location: &normalize.Location{Latitude: 52.52, Longitude: 13.405}},
			"Location: 52.520000,13.405000"},
		{"a sticker without words", normalize.Message{Kind: normalize.KindSticker}, "(sticker)"},
		{"a photo without a caption", normalize.Message{Kind: normalize.KindImage, Attachments: []normalize.Attachment{{Name: "a.jpg"}}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { require.Equal(t, c.want, messageText(c.m)) })
	}
}
