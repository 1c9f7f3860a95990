package chatwoot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/hmacsig"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/chatwootfake"
	"github.com/casino-support/gateway/test/conformance"
)

// hookHelpdesk returns a helpdesk whose Run holds a recording sink, with the given secrets.
func hookHelpdesk(t *testing.T, secret, token string, now time.Time) (*Helpdesk, *conformance.RecordingSink) {
	cfg := DefaultConfig()
	cfg.URL, cfg.AccountID, cfg.InboxID, cfg.APIToken = "http://chatwoot.invalid", 1, 1, "token"
	cfg.WebhookSecret, cfg.HookToken = settings.Secret(secret), settings.Secret(token)
	hd, err := New("cw", *cfg, Deps{Now: func() time.Time { return now }, Blobs: &conformance.MemBlobs{}})
	require.NoError(t, err)
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = hd.Run(ctx, sink); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return hd.sink.Sink() != nil }, time.Second, time.Millisecond)
	return hd, sink
}

const replyBody = `{"event":"message_created","id":501,"content":"Your withdrawal is on its way","message_type":"outgoing","private":false,` +
	`"source_id":null,"created_at":"2026-12-06T10:00:00Z","sender":{"id":7,"name":"Alice Agent","type":"user"},` +
	`"conversation":{"id":42,"inbox_id":1},"inbox":{"id":1}}`

func TestHookAuthentication(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	stale := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	const secret, token = "the-inbox-secret", "a-shared-token-of-some-length"
	cases := []struct {
		name          string
		secret, token string // configured
		target        string
		headers       map[string]string
		want          int
	}{
		{"valid signature", secret, "", "/", map[string]string{HeaderTimestamp: ts, HeaderSignature: hmacsig.Chatwoot.Sign([]byte(secret), ts, []byte(replyBody))}, http.StatusOK},
		{"signature of another body", secret, "", "/", map[string]string{HeaderTimestamp: ts, HeaderSignature: hmacsig.Chatwoot.Sign([]byte(secret), ts, []byte("{}"))}, http.StatusUnauthorized},
		{"signature with another secret", secret, "", "/", map[string]string{HeaderTimestamp: ts, HeaderSignature: hmacsig.Chatwoot.Sign([]byte("other"), ts, []byte(replyBody))}, http.StatusUnauthorized},
		{"stale timestamp", secret, "", "/", map[string]string{HeaderTimestamp: stale, HeaderSignature: hmacsig.Chatwoot.Sign([]byte(secret), stale, []byte(replyBody))}, http.StatusUnauthorized},
		{"no timestamp", secret, "", "/", map[string]string{HeaderSignature: hmacsig.Chatwoot.Sign([]byte(secret), "", []byte(replyBody))}, http.StatusUnauthorized},
		{"unsigned, no token configured", secret, "", "/", nil, http.StatusUnauthorized},
		{"unsigned with the query token", "", token, "/?token=" + token, nil, http.StatusOK},
		{"unsigned with the header token", "", token, "/", map[string]string{HeaderToken: token}, http.StatusOK},
		{"unsigned with a wrong token", "", token, "/?token=" + token + "x", nil, http.StatusUnauthorized},
		{"unsigned without a token", "", token, "/", nil, http.StatusUnauthorized},
		{"a wrong signature is not rescued by the token", secret, token, "/?token=" + token,
			map[string]string{HeaderTimestamp: ts, HeaderSignature: hmacsig.Chatwoot.Sign([]byte("other"), ts, []byte(replyBody))}, http.StatusUnauthorized},
		{"an older release behind a secret-holding gateway", secret, token, "/?token=" + token, nil, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd, sink := hookHelpdesk(t, c.secret, c.token, now)
			req := httptest.NewRequest(http.MethodPost, c.target, strings.NewReader(replyBody))
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			hd.ServeHTTP(w, req)
			require.Equal(t, c.want, w.Code, w.Body.String())
			if c.want == http.StatusOK {
				require.Len(t, sink.Messages(), 1)
			} else {
				require.Empty(t, sink.Messages(), "a refused webhook must not reach the sink")
			}
		})
	}
}

func TestHookEvents(t *testing.T) {
	const token = "a-shared-token-of-some-length"
	msg := func(fields string) string {
		return `{"event":"message_created","id":601,"content":"hello","created_at":"2026-12-06T10:00:00Z",` +
			`"sender":{"id":7,"name":"Alice Agent","type":"user"},"conversation":{"id":42,"inbox_id":1},` + fields + `}`
	}
	cases := []struct {
		name    string
		body    string
		stored  bool
		outcome string
		check   func(t *testing.T, m normalize.Message)
	}{
		{"public reply", msg(`"message_type":"outgoing","private":false`), true, hookReply, func(t *testing.T, m normalize.Message) {
			require.Equal(t, normalize.Outbound, m.Direction)
			require.Equal(t, normalize.ExternalID("601"), m.ExternalID)
			require.Equal(t, normalize.Ref("42"), m.Ticket)
			require.Equal(t, "Alice Agent", m.Author.DisplayName)
			require.Equal(t, normalize.RoleAgent, m.Author.Role)
		}},
		{"agent bot reply", strings.Replace(msg(`"message_type":"outgoing"`), `"type":"user"`, `"type":"agent_bot"`, 1), true, hookReply,
			func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.RoleBot, m.Author.Role) }},
		{"private note", msg(`"message_type":"outgoing","private":true`), false, hookIgnoredPrivate, nil},
		{"the contact's message", msg(`"message_type":"incoming"`), false, hookIgnoredIncoming, nil},
		{"an activity", msg(`"message_type":"activity"`), false, hookIgnoredIncoming, nil},
		{"the gateway's own note", msg(`"message_type":"outgoing","source_id":"gateway:m123"`), false, hookIgnoredEcho, nil},
		{"another inbox", strings.Replace(msg(`"message_type":"outgoing"`), `"inbox_id":1`, `"inbox_id":9`, 1), false, hookIgnoredOther, nil},
		{"empty reply", strings.Replace(msg(`"message_type":"outgoing"`), `"hello"`, `"  "`, 1), false, hookIgnoredOther, nil},
		{"resolved", `{"event":"conversation_status_changed","id":42,"inbox_id":1,"status":"resolved"}`, true, hookStatus,
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.StatusClosed, m.Status)
				require.Equal(t, normalize.KindSystem, m.Kind)
				require.Equal(t, normalize.Ref("42"), m.Ticket)
			}},
		{"snoozed", `{"event":"conversation_status_changed","id":42,"inbox_id":1,"status":"snoozed"}`, true, hookStatus,
			func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.StatusPending, m.Status) }},
		{"assigned", `{"event":"conversation_updated","id":42,"inbox_id":1,"meta":{"assignee":{"id":7,"name":"Alice Agent"}},` +
			`"changed_attributes":[{"assignee_id":{"previous_value":null,"current_value":7}}]}`, true, hookAssignment,
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, &normalize.Agent{ID: "7", Name: "Alice Agent"}, m.Assignee)
				require.Equal(t, normalize.KindSystem, m.Kind)
			}},
		{"unassigned", `{"event":"conversation_updated","id":42,"inbox_id":1,"meta":{"assignee":null},` +
			`"changed_attributes":[{"assignee_id":{"previous_value":7,"current_value":null}}]}`, true, hookAssignment,
			func(t *testing.T, m normalize.Message) { require.Equal(t, &normalize.Agent{}, m.Assignee) }},
		{"labels changed", `{"event":"conversation_updated","id":42,"inbox_id":1,"changed_attributes":[{"label_list":{}}]}`, false, hookIgnoredOther, nil},
		{"reply with a file that cannot be had", msg(`"message_type":"outgoing","attachments":[{"id":9,"file_type":"file",` +
			`"data_url":"http://127.0.0.1:1/rails/active_storage/blobs/9/contract.pdf"}]`), true, hookReply,
			func(t *testing.T, m normalize.Message) {
				require.Empty(t, m.Attachments)
				require.Equal(t, "hello\n\n(Attachment not delivered: contract.pdf)", m.Text, "the player learns of the file")
			}},
		{"a conversation the gateway did not open", strings.Replace(msg(`"message_type":"outgoing"`), `"inbox_id":1}`,
			`"inbox_id":1,"custom_attributes":{"order":"A-1"}}`, 1), false, hookIgnoredOther, nil},
		{"one of the gateway's conversations", strings.Replace(msg(`"message_type":"outgoing"`), `"inbox_id":1}`,
			`"inbox_id":1,"custom_attributes":{"gateway_conversation":"c1"}}`, 1), true, hookReply,
			func(t *testing.T, m normalize.Message) { require.Equal(t, normalize.Ref("42"), m.Ticket) }},
		{"contact_updated", `{"event":"contact_updated","id":5}`, false, hookIgnoredOther, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd, sink := hookHelpdesk(t, "", token, time.Now())
			req := httptest.NewRequest(http.MethodPost, "/?token="+token, strings.NewReader(c.body))
			w := httptest.NewRecorder()
			hd.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			if !c.stored {
				require.Empty(t, sink.Messages())
				require.Contains(t, w.Body.String(), c.outcome)
				return
			}
			require.Len(t, sink.Messages(), 1)
			c.check(t, sink.Messages()[0])
		})
	}
}

// TestReplyFiles has an agent reply with a file through the fake: the hook stores its bytes
// in the blob store and hands the reply over with it.
func TestReplyFiles(t *testing.T) {
	e := newEnv(t, true)
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.hd.Run(ctx, sink); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	conv := normalize.Conversation{ID: normalize.NewConversationID(), Channel: "tg", ChannelKind: normalize.KindTelegram, Address: "4711",
		Player: normalize.Author{DisplayName: "Pat"}, Priority: normalize.PriorityNormal}
	ticket, _, err := e.hd.Post(ctx, conv, deliveries(conv, "my deposit is missing"))
	require.NoError(t, err)
	pdf := []byte("%PDF-1.4 statement\n%%EOF\n")
	until(t, func() error {
		_, _, err := e.fake.AgentReply(ctx, ticketID(t, ticket), chatwootfake.Agent{ID: 7, Name: "Alice"}, "Here is your statement", false,
			chatwootfake.Attachment{Name: "statement.pdf", Type: "application/pdf", Content: pdf})
		return err
	})
	var got normalize.Message
	require.Eventually(t, func() bool {
		for _, m := range sink.Messages() {
			if m.Text == "Here is your statement" {
				got = m
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	require.Len(t, got.Attachments, 1)
	require.Equal(t, "statement.pdf", got.Attachments[0].Name)
	require.Equal(t, "application/pdf", got.Attachments[0].MediaType)
	rc, err := e.blobs.Open(ctx, got.Attachments[0].BlobRef)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	require.Equal(t, pdf, b)
}

// deliveries are first attempts of player messages of conv.
func deliveries(conv normalize.Conversation, texts ...string) []connectors.Delivery {
	out := make([]connectors.Delivery, len(texts))
	for i, text := range texts {
		out[i] = connectors.Delivery{Attempt: 1, Message: normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Inbound,
			Source: conv.Channel, ExternalID: normalize.ExternalID(fmt.Sprint(i)), Conversation: conv.ID, Channel: conv.Channel,
			ChannelKind: conv.ChannelKind, Address: conv.Address, Author: conv.Player, Kind: normalize.KindText, Text: text, SentAt: time.Now()}}
	}
	return out
}
