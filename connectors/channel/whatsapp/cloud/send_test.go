package cloud_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/cloud"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/whatsappfake"
)

// playerWrote has the player at waID write at, through the webhook, so the channel knows.
func playerWrote(t *testing.T, e *env, waID string, at time.Time) string {
	t.Helper()
	body, id := e.fake.MessageNotification(whatsappfake.Incoming{From: waID, Text: "hello", Time: at})
	require.NoError(t, e.fake.Deliver(t.Context(), body, id))
	return id
}

func TestSendTextMediaAndReplyContext(t *testing.T) {
	e := newEnv(t, nil)
	s := newSink()
	e.run(t, s)
	waID := newWaID()
	asked := playerWrote(t, e, waID, time.Now())
	conv := conversation(waID)

	img := pngImage(t)
	att, err := e.blobs.Put(t.Context(), bytes.NewReader(img), "proof.png", "image/png")
	require.NoError(t, err)
	pdf, err := e.blobs.Put(t.Context(), strings.NewReader("%PDF-1.4\n%%EOF\n"), "terms.pdf", "application/pdf")
	require.NoError(t, err)
	msg := reply(conv, strings.Repeat("Ihre Auszahlung ist unterwegs. ", 200)) // over 4096 characters
	msg.ReplyTo = normalize.ExternalID(asked)
	msg.Attachments = []normalize.Attachment{att, pdf}

	id, err := e.ch.Send(t.Context(), conv, msg)
	require.NoError(t, err)
	sent := e.fake.Sent(waID)
	require.Len(t, sent, 4, "two text parts, the image, the document")
	require.Equal(t, normalize.ExternalID(sent[3].ID), id, "Send returns the last part's wamid")
	require.Equal(t, "text", sent[0].Type)
	require.Equal(t, asked, sent[0].ReplyTo, "the first part answers the player's message")
	require.Empty(t, sent[1].ReplyTo)
	require.Equal(t, strings.TrimSpace(msg.Text), sent[0].Text+" "+sent[1].Text)
	require.LessOrEqual(t, len([]rune(sent[0].Text)), cloud.MaxText)
	require.Equal(t, "image", sent[2].Type)
	require.Equal(t, img, sent[2].Media, "the image was uploaded, then sent by its media ID")
	require.Equal(t, "document", sent[3].Type)
	require.Equal(t, "terms.pdf", sent[3].Filename)
}

func TestSendResumesAfterAFailedPart(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, newSink())
	waID := newWaID()
	playerWrote(t, e, waID, time.Now())
	conv := conversation(waID)
	msg := reply(conv, strings.Repeat("a ", 3000)) // two parts

	e.fake.Fail("messages", http.StatusInternalServerError, 131000, "(#131000) Something went wrong")
	_, err := e.ch.Send(t.Context(), conv, msg)
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err))
	_, err = e.ch.Send(t.Context(), conv, msg)
	require.NoError(t, err)
	require.Len(t, e.fake.Sent(waID), 2, "each part once: the retry went on from the failed one")
}

func TestReplyOutsideTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		// knows: the channel saw the player's last message (else only Meta knows, and refuses)
		knows    bool
		template cloud.Template
	}{
		{name: "the channel knows, no template", knows: true},
		{name: "only Meta knows, no template"},
		{name: "the channel knows, template with the reply", knows: true, template: cloud.Template{Name: "support_reply", Language: "de", BodyParameter: true}},
		{name: "only Meta knows, fixed template", template: cloud.Template{Name: "please_reply", Language: "en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *cloud.Config) { c.Template = tc.template })
			s := newSink()
			e.run(t, s)
			waID := newWaID()
			long := time.Now().Add(-25 * time.Hour)
			if tc.knows {
				playerWrote(t, e, waID, long)
			} else {
				e.fake.OpenWindow(waID, long)
			}
			conv := conversation(waID)
			msg := reply(conv, "Ihre Auszahlung\nist unterwegs.")
			id, err := e.ch.Send(t.Context(), conv, msg)
			sent := e.fake.Sent(waID)

			if tc.template.Name != "" {
				require.NoError(t, err)
				require.Len(t, sent, 1)
				require.Equal(t, normalize.ExternalID(sent[0].ID), id)
				require.Equal(t, "template", sent[0].Type)
				require.Equal(t, tc.template.Name, sent[0].Template)
				if tc.template.BodyParameter {
					require.Equal(t, []string{"Ihre Auszahlung ist unterwegs."}, sent[0].Params, "one line: Meta refuses line breaks in parameters")
				} else {
					require.Empty(t, sent[0].Params)
				}
				return
			}
			require.Error(t, err)
			require.True(t, connectors.IsPermanent(err), "no retry opens the window")
			require.Contains(t, err.Error(), "24-hour")
			require.Empty(t, sent, "nothing reached the player")
			var notes []normalize.Message
			for _, m := range s.messages() {
				if m.Kind == normalize.KindSystem {
					notes = append(notes, m)
				}
			}
			require.Len(t, notes, 1, "the agents are told")
			require.Equal(t, normalize.RoleSystem, notes[0].Author.Role)
			require.Equal(t, address(waID), notes[0].Address)
			require.Contains(t, notes[0].Text, "template")
			require.Contains(t, notes[0].Text, "24 hours")
		})
	}
}

func TestTheWindowSurvivesARestart(t *testing.T) {
	s := newSink()
	withCursors := func(d *cloud.Deps) { d.Cursors = s }
	first := newEnv(t, nil, withCursors)
	first.run(t, s)
	waID := newWaID()
	playerWrote(t, first, waID, time.Now().Add(-25*time.Hour))

	// Another instance, as after a restart, with the same store; its fake would take the
	// reply (the window open there), so only what the channel stored can refuse it.
	second := newEnv(t, nil, withCursors)
	second.fake.OpenWindow(waID, time.Now())
	_, err := second.ch.Send(t.Context(), conversation(waID), reply(conversation(waID), "hello again"))
	require.ErrorContains(t, err, "24-hour")
	require.Empty(t, second.fake.Sent(waID))

	recent := newWaID()
	playerWrote(t, first, recent, time.Now().Add(-time.Hour))
	second.fake.OpenWindow(recent, time.Now())
	_, err = second.ch.Send(t.Context(), conversation(recent), reply(conversation(recent), "hello"))
	require.NoError(t, err, "a player who wrote an hour ago is answered")
}

func TestSendErrorCodes(t *testing.T) {
	type class int
	const (
		retryable class = iota
		retryAfter
		permanent
		unauthorized
	)
	for _, tc := range []struct {
		name   string
		status int
		code   int
		want   class
		wait   time.Duration // for retryAfter: at least
	}{
		{"pair rate limit 131056", http.StatusBadRequest, 131056, retryAfter, 6 * time.Second},
		{"throughput 130429", http.StatusBadRequest, 130429, retryAfter, time.Second},
		{"account rate limit 80007", http.StatusBadRequest, 80007, retryAfter, time.Second},
		{"app call limit 4", http.StatusTooManyRequests, 4, retryAfter, time.Second},
		{"something went wrong 131000", http.StatusInternalServerError, 131000, retryable, 0},
		{"service unavailable 131016", http.StatusServiceUnavailable, 131016, retryable, 0},
		{"undeliverable 131026", http.StatusBadRequest, 131026, permanent, 0},
		{"invalid parameter 100 (a number that is none)", http.StatusBadRequest, 100, permanent, 0},
		{"unsupported type 131051", http.StatusBadRequest, 131051, permanent, 0},
		{"not registered 133010", http.StatusBadRequest, 133010, permanent, 0},
		{"token expired 190", http.StatusUnauthorized, 190, unauthorized, 0},
		{"permission 200", http.StatusForbidden, 200, unauthorized, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.run(t, newSink())
			waID := newWaID()
			e.fake.OpenWindow(waID, time.Now())
			e.fake.Fail("messages", tc.status, tc.code, "injected")
			_, err := e.ch.Send(t.Context(), conversation(waID), reply(conversation(waID), "your bonus is credited"))
			require.Error(t, err)
			delay, waits := connectors.RetryDelay(err)
			switch tc.want {
			case retryAfter:
				require.True(t, waits, "%v", err)
				require.GreaterOrEqual(t, delay, tc.wait)
				require.False(t, connectors.IsPermanent(err))
			case retryable:
				require.False(t, waits)
				require.False(t, connectors.IsPermanent(err))
				require.False(t, connectors.IsUnauthorized(err))
			case permanent:
				require.True(t, connectors.IsPermanent(err), "%v", err)
			case unauthorized:
				require.True(t, connectors.IsUnauthorized(err), "%v", err)
				require.False(t, connectors.IsPermanent(err))
			}
			require.Contains(t, err.Error(), "injected", "Meta's words reach the dead letter and the log")
		})
	}
}

func TestStatusesBecomeReceiptsAndFailures(t *testing.T) {
	e := newEnv(t, nil)
	s := newSink()
	e.run(t, s)
	waID := newWaID()
	playerWrote(t, e, waID, time.Now())
	conv := conversation(waID)
	first, second := reply(conv, "first"), reply(conv, "second")
	wamid1, err := e.ch.Send(t.Context(), conv, first)
	require.NoError(t, err)
	wamid2, err := e.ch.Send(t.Context(), conv, second)
	require.NoError(t, err)
	// After a restart only the router knows which reply a wamid is.
	s.replies["wamid.before-restart"] = "m-before"

	for _, st := range []struct {
		wamid  normalize.ExternalID
		status string
		code   int
		title  string
	}{
		{wamid1, "sent", 0, ""},
		{wamid1, "delivered", 0, ""},
		{wamid1, "read", 0, ""},
		{wamid2, "failed", 131047, "Re-engagement message"},
		{"wamid.before-restart", "delivered", 0, ""},
		{"wamid.from-whatsapp-manager", "read", 0, ""}, // not the gateway's: passed over
	} {
		body := e.fake.StatusNotification(string(st.wamid), waID, st.status, st.code, st.title)
		status, err := e.fake.Post(t.Context(), body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%s %s", st.wamid, st.status)
	}
	require.Equal(t, map[normalize.MessageID]normalize.DeliveryState{first.ID: normalize.StateRead, "m-before": normalize.StateDelivered}, s.receipts)
	require.Len(t, s.failures, 1)
	require.Contains(t, s.failures[second.ID], "131047")
	require.Contains(t, s.failures[second.ID], "template", "the agents learn what would reach the player")
}
