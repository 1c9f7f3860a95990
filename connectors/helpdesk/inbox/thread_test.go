package inbox

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/hugeimage"
)

// pngBytes is a valid PNG: an image whose size cannot be read is not attached.
var pngBytes = hugeimage.PNG(16, 16)

func agentMsg(id, text string, state normalize.DeliveryState, reason string) normalize.Message {
	return normalize.Message{ID: normalize.MessageID(id), Direction: normalize.Outbound, Source: testName,
		ExternalID: normalize.ExternalID("reply-" + id), Author: normalize.Author{Role: normalize.RoleAgent, DisplayName: "Alice"},
		Kind: normalize.KindText, Text: text, ReceivedAt: t0.Add(time.Minute), State: state, FailReason: reason}
}

func TestThreadShowsBothDirectionsWithTicks(t *testing.T) {
	f := newFixture(t)
	note := agentMsg("n1", "VIP, be nice", normalize.StateSent, "")
	note.Kind = normalize.KindNote
	msgs := []normalize.Message{
		playerMsg("m1", `<script>alert("x")</script> hello`, t0),
		agentMsg("a1", "queued reply", normalize.StateQueued, ""),
		agentMsg("a2", "sent reply", normalize.StateSent, ""),
		agentMsg("a3", "delivered reply", normalize.StateDelivered, ""),
		agentMsg("a4", "read reply", normalize.StateRead, ""),
		agentMsg("a5", "failed reply", normalize.StateFailed, "player blocked the bot"),
		note,
	}
	c := f.conv("c1", lena, msgs...)
	f.post(c, msgs[0])
	b := f.signedIn()

	page := b.get("/inbox/conversations/c1")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, `id="thread"`)
	require.NotContains(t, page.body, "<script>alert", "player text is escaped")
	require.Contains(t, page.body, "&lt;script&gt;")
	require.Equal(t, 1, strings.Count(page.body, `class="msg player"`))
	require.Equal(t, 5, strings.Count(page.body, `class="msg agent"`))
	require.Equal(t, 1, strings.Count(page.body, `class="msg note"`))
	for _, want := range []string{
		`class="tick tick-queued" title="queued">⏳`,
		`class="tick tick-sent" title="sent">✓<`,
		`class="tick tick-delivered" title="delivered">✓✓`,
		`class="tick tick-read" title="read">✓✓`,
		`class="tick tick-failed" title="failed">⚠`,
		"player blocked the bot",
		"Lena", "VIP 3", "de", "tg-main",
		`id="reply-text"`, `id="reply-send"`, `id="note-send"`, `id="attach"`, `id="close"`,
	} {
		require.Contains(t, page.body, want)
	}
	require.Equal(t, 5, strings.Count(page.body, `class="tick `), "notes and player messages have no ticks")

	partial := b.get("/inbox/conversations/c1?partial=1")
	require.Equal(t, http.StatusOK, partial.status)
	require.Contains(t, partial.body, `id="thread"`)
	require.NotContains(t, partial.body, `id="reply-text"`, "a refresh leaves the reply box alone")

	h := page.header
	require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", h.Get("Cache-Control"))
}

func TestReplyIsDeliveredBeforeTheRedirect(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	token := b.replyToken("c1")
	f.sink.entered, f.sink.gate = make(chan struct{}), make(chan struct{})

	done := make(chan response, 1)
	go func() {
		done <- b.postForm("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {token}, "text": {"Hello Lena!"}, "action": {"reply"}})
	}()
	<-f.sink.entered
	select {
	case <-done:
		t.Fatal("answered before Deliver returned")
	case <-time.After(50 * time.Millisecond):
	}
	close(f.sink.gate)
	resp := <-done
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Equal(t, "/inbox/conversations/c1", resp.header.Get("Location"))

	got := f.sink.delivered()
	require.Len(t, got, 1)
	m := got[0]
	require.Equal(t, normalize.Outbound, m.Direction)
	require.Equal(t, testName, m.Source)
	require.Equal(t, normalize.ExternalID("reply-"+token), m.ExternalID)
	require.Equal(t, normalize.ConversationID("c1"), m.Conversation)
	require.Equal(t, normalize.Author{Role: normalize.RoleAgent, DisplayName: "Alice", ExternalID: "alice"}, m.Author)
	require.Equal(t, normalize.KindText, m.Kind)
	require.Equal(t, "Hello Lena!", m.Text)
	require.Empty(t, m.Attachments)

	tk, _, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.True(t, tk.FirstUnansweredAt.IsZero())
	require.Equal(t, f.clock.Now().Truncate(time.Millisecond), tk.LastAgentAt)
	require.Contains(t, rowOf(t, b.get("/inbox/").body, "c1"), "answered")
}

func TestResubmittedReplyKeepsItsExternalID(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	token := b.replyToken("c1")
	form := url.Values{csrfField: {b.csrf}, "token": {token}, "text": {"once"}}
	require.Equal(t, http.StatusSeeOther, b.postForm("/inbox/conversations/c1/reply", form).status)
	require.Equal(t, http.StatusSeeOther, b.postForm("/inbox/conversations/c1/reply", form).status)
	got := f.sink.delivered()
	require.Len(t, got, 2)
	require.Equal(t, got[0].ExternalID, got[1].ExternalID, "the store deduplicates the second")

	require.NotEqual(t, token, b.replyToken("c1"), "every form gets its own token")
	form.Set("token", "bad token!")
	require.Equal(t, http.StatusSeeOther, b.postForm("/inbox/conversations/c1/reply", form).status)
	got = f.sink.delivered()
	require.Regexp(t, `^reply-[A-Za-z0-9_-]{43}$`, got[2].ExternalID, "a malformed token is replaced by a random one")
}

func TestNoteStaysInternal(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	resp := b.postForm("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")},
		"text": {"check KYC first"}, "action": {"note"}})
	require.Equal(t, http.StatusSeeOther, resp.status)
	got := f.sink.delivered()
	require.Len(t, got, 1)
	require.Equal(t, normalize.KindNote, got[0].Kind)
	require.Equal(t, normalize.Outbound, got[0].Direction)
	tk, _, err := getTicket(t.Context(), f.in.db, "c1")
	require.NoError(t, err)
	require.Equal(t, t0, tk.FirstUnansweredAt, "a note answers nobody")
	require.True(t, tk.LastAgentAt.IsZero())
}

func TestReplyErrors(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		sinkErr error
		want    int
		message string
	}{
		{name: "empty", text: "  \n", want: http.StatusBadRequest, message: "Write a message or attach a file first."},
		{name: "store down", text: "hello", sinkErr: errors.New("disk full"), want: http.StatusServiceUnavailable, message: "could not be stored"},
		{name: "refused", text: "hello", sinkErr: connectors.Permanent(errors.New("no such conversation")), want: http.StatusUnprocessableEntity, message: "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.conv("c1", lena)
			f.post(c, playerMsg("m1", "hi", t0))
			b := f.signedIn()
			f.sink.err = tt.sinkErr
			token := b.replyToken("c1")
			resp := b.postForm("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {token}, "text": {tt.text}})
			require.Equal(t, tt.want, resp.status)
			require.Contains(t, resp.body, tt.message)
			require.Contains(t, resp.body, `value="`+token+`"`, "a retry of the same form keeps its token")
			if strings.TrimSpace(tt.text) != "" {
				require.Contains(t, resp.body, ">"+tt.text+"</textarea>", "the text is kept")
			}
			require.Empty(t, f.sink.delivered())
			tk, _, err := getTicket(t.Context(), f.in.db, "c1")
			require.NoError(t, err)
			require.Equal(t, t0, tk.FirstUnansweredAt)
		})
	}
}

func TestReplyWithAttachment(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()

	// The browser's name and type do not decide the media type; the content does.
	resp := b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")}},
		`C:\Users\alice\proof.txt`, pngBytes)
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	got := f.sink.delivered()
	require.Len(t, got, 1)
	require.Equal(t, normalize.KindImage, got[0].Kind)
	require.Len(t, got[0].Attachments, 1)
	a := got[0].Attachments[0]
	require.Equal(t, "image/png", a.MediaType)
	require.Equal(t, "proof.txt", a.Name)
	require.Equal(t, int64(len(pngBytes)), a.Size)
	rc, err := f.blobs.Open(t.Context(), a.BlobRef)
	require.NoError(t, err)
	rc.Close()

	resp = b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")}, "text": {"the terms"}},
		"terms.pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"))
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	got = f.sink.delivered()
	require.Equal(t, normalize.KindDocument, got[1].Kind)
	require.Equal(t, "application/pdf", got[1].Attachments[0].MediaType)
	require.Equal(t, "the terms", got[1].Text)
}

func TestReplyAttachmentSizeLimit(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	limit := f.in.deps.MaxUploadBytes

	resp := b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")}, "text": {"big"}},
		"big.bin", bytes.Repeat([]byte("x"), int(limit)+1))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	require.Contains(t, resp.body, "too large")
	require.Contains(t, resp.body, ">big</textarea>")

	resp = b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "text": {"huge"}},
		"huge.bin", bytes.Repeat([]byte("x"), int(limit+formOverhead)+1))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	require.Empty(t, f.sink.delivered())

	resp = b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "text": {"fits"}},
		"fits.bin", bytes.Repeat([]byte("x"), int(limit)))
	require.Equal(t, http.StatusSeeOther, resp.status)
	require.Len(t, f.sink.delivered(), 1)
}

func TestAttachmentDownload(t *testing.T) {
	f := newFixture(t)
	att, err := f.blobs.Put(t.Context(), bytes.NewReader(pngBytes), "screenshot.png", "image/png")
	require.NoError(t, err)
	doc, err := f.blobs.Put(t.Context(), strings.NewReader("<html><script>steal()</script>"), "kyc form.html", "text/html")
	require.NoError(t, err)
	m1 := playerMsg("m1", "see attached", t0)
	m1.Attachments = []normalize.Attachment{att, doc}
	c1 := f.conv("c1", lena, m1)
	f.post(c1, m1)
	f.conv("c2", normalize.Author{DisplayName: "Other"}, playerMsg("m2", "other", t0))
	f.convs.add(normalize.Conversation{ID: "c-zd", Helpdesk: "zendesk"}, m1)

	anon := f.browser()
	require.Equal(t, http.StatusUnauthorized, anon.get("/inbox/attachments/c1/m1/0").status)

	b := f.signedIn()
	page := b.get("/inbox/conversations/c1")
	require.Contains(t, page.body, `<img src="/inbox/attachments/c1/m1/0"`, "images are previewed")
	require.NotContains(t, page.body, `<img src="/inbox/attachments/c1/m1/1"`)

	resp := b.get("/inbox/attachments/c1/m1/0")
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, string(pngBytes), resp.body)
	require.Equal(t, "image/png", resp.header.Get("Content-Type"))
	require.Equal(t, `inline; filename=screenshot.png`, resp.header.Get("Content-Disposition"))
	require.Equal(t, "nosniff", resp.header.Get("X-Content-Type-Options"))
	require.Equal(t, "private, no-store", resp.header.Get("Cache-Control"), "players' documents stay out of the browser's cache")

	resp = b.get("/inbox/attachments/c1/m1/1")
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "application/octet-stream", resp.header.Get("Content-Type"), "HTML never renders as a page")
	require.Equal(t, `attachment; filename="kyc form.html"`, resp.header.Get("Content-Disposition"))
	require.Contains(t, resp.header.Get("Content-Security-Policy"), "sandbox")

	for _, path := range []string{
		"/inbox/attachments/c2/m1/0",   // a message of another conversation
		"/inbox/attachments/c-zd/m1/0", // a conversation of another helpdesk
		"/inbox/attachments/c1/m1/2",   // no such index
		"/inbox/attachments/c1/m1/-1",
		"/inbox/attachments/c1/nope/0",
		"/inbox/attachments/nope/m1/0",
	} {
		resp := b.get(path)
		require.Equal(t, http.StatusNotFound, resp.status, path)
		require.NotContains(t, resp.body, "PNG", path)
	}
}

func TestTypingIsThrottled(t *testing.T) {
	f := newFixture(t)
	f.conv("c1", lena)
	b := f.signedIn()
	typing := func(conv string) int {
		req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/inbox/conversations/"+conv+"/typing", nil)
		require.NoError(t, err)
		req.Header.Set(csrfHeader, b.csrf)
		return b.do(req).status
	}
	require.Equal(t, http.StatusNoContent, typing("c1"))
	require.Equal(t, http.StatusNoContent, typing("c1"))
	require.Equal(t, []normalize.ConversationID{"c1"}, f.typing.calls())
	f.clock.Add(typingInterval)
	require.Equal(t, http.StatusNoContent, typing("c1"))
	require.Equal(t, []normalize.ConversationID{"c1", "c1"}, f.typing.calls())
	require.Equal(t, http.StatusNotFound, typing("nope"))
}

func TestReplyWhileNotRunning(t *testing.T) {
	f := newIdleFixture(t) // never run: no sink to store a reply
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	resp := b.postForm("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "text": {"hello"}})
	require.Equal(t, http.StatusServiceUnavailable, resp.status)
}

// TestRunReturnsOnCancel checks Run's contract on its own instance.
func TestRunReturnsOnCancel(t *testing.T) {
	in, err := New(t.Context(), testName, testConfig(t), Deps{Conversations: newFakeConversations()})
	require.NoError(t, err)
	defer in.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- in.Run(ctx, &recordingSink{}) }()
	require.Eventually(t, func() bool { _, err := in.currentSink(); return err == nil }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	_, err = in.currentSink()
	require.Error(t, err)
	require.NoError(t, in.Close())
	require.NoError(t, in.Close(), "Close is idempotent")
}

func TestThreadShowsACallbackRequestWithABadge(t *testing.T) {
	f := newFixture(t)
	asked := playerMsg("m1", "[call-back request] Please call +491701234567 back (they asked for it in the web chat).", t0)
	asked.Callback = &normalize.Callback{Phone: "+491701234567"}
	msgs := []normalize.Message{asked, playerMsg("m2", "call-back request, please", t0.Add(time.Minute))}
	c := f.conv("c1", lena, msgs...)
	f.post(c, msgs...)
	page := f.signedIn().get("/inbox/conversations/c1")
	require.Equal(t, http.StatusOK, page.status)
	require.Equal(t, 1, strings.Count(page.body, `<span class="badge callback">call-back request</span>`),
		"the flag makes the badge, not the words")
}
