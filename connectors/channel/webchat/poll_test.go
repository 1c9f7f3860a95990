package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// TestLongPollEndToEnd drives a whole conversation over the fallback transport: hello, a
// message acknowledged after Deliver, an agent reply and a typing hint pushed to a waiting
// poll, receipts, and a resync after falling behind.
func TestLongPollEndToEnd(t *testing.T) {
	h := start(t, nil, true)
	h.ch.pollWait = 200 * time.Millisecond

	welcome := h.post(t, "", clientFrame{Type: typeHello, Language: "de"})
	require.Len(t, welcome.Frames, 1)
	w := welcome.Frames[0]
	require.Equal(t, typeWelcome, w.Type)
	require.Equal(t, "Hallo! Wie können wir helfen?", w.Greeting)
	require.NotZero(t, welcome.Cursor)
	token, cursor := w.Token, welcome.Cursor
	addr := normalize.Address("visitor:" + w.Visitor)

	// Persist, then acknowledge.
	gate, entered := h.store.hold()
	answered := make(chan sendResponseFrames, 1)
	go func() { answered <- h.post(t, token, msg("c-1", "hello over http")) }()
	<-entered
	select {
	case <-answered:
		t.Fatal("answered before Deliver returned")
	case <-time.After(100 * time.Millisecond):
	}
	h.store.release()
	gate <- struct{}{}
	ack := (<-answered).Frames[0]
	require.Equal(t, typeAck, ack.Type)
	require.Equal(t, "c-1", ack.ClientID)
	require.Equal(t, normalize.ExternalID(string(addr)+":c-1"), h.store.delivered()[0].ExternalID)

	// The page's own message comes back as an echo (other tabs need it); skip past it.
	status, p := h.poll(t, token, cursor)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, p.Frames, 1)
	require.Equal(t, "c-1", p.Frames[0].ClientID)
	cursor = p.Cursor

	// An empty poll waits, then answers with the same cursor.
	start := time.Now()
	status, p = h.poll(t, token, cursor)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, p.Frames)
	require.Equal(t, cursor, p.Cursor)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	// A reply wakes a waiting poll.
	h.ch.pollWait = 5 * time.Second
	reply := h.store.reply(addr, normalize.KindText, "agent here")
	polled := make(chan pollFrames, 1)
	go func() {
		_, p := h.poll(t, token, cursor)
		polled <- p
	}()
	time.Sleep(50 * time.Millisecond)
	_, err := h.ch.Send(context.Background(), normalize.Conversation{Address: addr}, reply)
	require.NoError(t, err)
	p = <-polled
	require.Len(t, p.Frames, 1)
	require.Equal(t, typeMessage, p.Frames[0].Type)
	require.Equal(t, "agent here", p.Frames[0].Text)
	cursor = p.Cursor

	// Typing is pushed the same way.
	require.NoError(t, h.ch.Typing(context.Background(), normalize.Conversation{Address: addr}))
	_, p = h.poll(t, token, cursor)
	require.Equal(t, typeTyping, p.Frames[0].Type)

	// Receipts over POST.
	resp := h.post(t, token, clientFrame{Type: typeReceipt, ID: string(reply.ID), State: "read"})
	require.Empty(t, resp.Frames)
	require.Eventually(t, func() bool {
		marks := h.store.markCalls()
		return len(marks) > 0 && marks[0] == mark{reply.ID, normalize.StateRead}
	}, 5*time.Second, 5*time.Millisecond)

	// A cursor from before the mailbox (or from another server) must resync.
	_, p = h.poll(t, token, 1)
	require.True(t, p.Reset)
	_, p = h.poll(t, token, p.Cursor+1_000_000)
	require.True(t, p.Reset)

	// A hello on the fallback shows the history, reply included.
	again := h.post(t, "", clientFrame{Type: typeHello, Token: token})
	require.Len(t, again.Frames[0].History, 2)
}

func TestLongPollFallsBehind(t *testing.T) {
	h := start(t, nil, true)
	welcome := h.post(t, "", clientFrame{Type: typeHello})
	token, cursor := welcome.Frames[0].Token, welcome.Cursor
	addr := normalize.Address("visitor:" + welcome.Frames[0].Visitor)
	for range maxBoxFrames + 1 {
		require.NoError(t, h.ch.Typing(context.Background(), normalize.Conversation{Address: addr}))
	}
	_, p := h.poll(t, token, cursor)
	require.True(t, p.Reset, "the first frame was dropped: the page must reload the history")
}

func TestLongPollRefusals(t *testing.T) {
	h := start(t, nil, true)
	status, _ := h.poll(t, visitorToken("v1", time.Now().Add(-time.Second)), 0)
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = h.poll(t, "", 0)
	require.Equal(t, http.StatusUnauthorized, status)

	// Messages need the bearer token; hello does not.
	resp := h.post(t, "", msg("c-1", "who am I"))
	require.Equal(t, codeInvalidToken, resp.Frames[0].Code)
	resp = h.post(t, visitorToken("v1", time.Now().Add(time.Hour)), []byte(`{"type":`))
	require.Equal(t, codeBadRequest, resp.Frames[0].Code)

	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/chat/api/send", strings.NewReader(`{"type":"hello"}`))
	require.NoError(t, err)
	req.Header.Set("Origin", "https://evil.example")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	big := bytes.Repeat([]byte("x"), maxFrameBytes+1)
	res, err = http.Post(h.srv.URL+"/chat/api/send", "application/json", bytes.NewReader(big))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	require.Empty(t, h.store.attempts())
}

// TestRunEndAnswersPolls checks that a long-poll ends with Run, like a WebSocket: a waiting
// poll and any poll after it are told "unavailable", which the page answers by backing off
// and reconnecting (an empty answer would have it poll again at once).
func TestRunEndAnswersPolls(t *testing.T) {
	h := start(t, nil, false)
	h.ch.pollWait = time.Minute // only the cancellation can end the poll in time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.ch.Run(ctx, h.store) }()
	require.Eventually(t, func() bool { return h.ch.sink() != nil }, 5*time.Second, time.Millisecond)

	welcome := h.post(t, "", clientFrame{Type: typeHello})
	token, cursor := welcome.Frames[0].Token, welcome.Cursor

	type answer struct {
		status     int
		code       string
		retryAfter string
	}
	poll := func() answer {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/chat/api/poll?after=%d", h.srv.URL, cursor), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var body errorBody
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		return answer{res.StatusCode, body.Error.Code, res.Header.Get("Retry-After")}
	}
	want := answer{http.StatusServiceUnavailable, codeUnavailable, "5"}

	waiting := make(chan answer, 1)
	go func() { waiting <- poll() }()
	select {
	case a := <-waiting:
		t.Fatalf("answered %+v while running with nothing to say", a)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	require.NoError(t, <-done)
	select {
	case a := <-waiting:
		require.Equal(t, want, a, "the waiting poll ends with Run")
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting poll outlived Run")
	}

	late := make(chan answer, 1)
	go func() { late <- poll() }()
	select {
	case a := <-late:
		require.Equal(t, want, a, "a poll after Run is refused at once")
	case <-time.After(5 * time.Second):
		t.Fatal("a poll after Run waited")
	}
}

// TestLongPollAfterMailboxExpired: a page that stops polling for longer than boxTTL (a phone
// asleep, a frozen background tab) loses its mailbox, and a reply pushed meanwhile reaches no
// mailbox. When the page polls again with its old cursor it must be told to resync, or it
// waits for frames that were never kept and the reply stays unseen until a reload. The quiet
// server matters: no other mailbox moves the sequence on in between.
func TestLongPollAfterMailboxExpired(t *testing.T) {
	for name, asleep := range map[string]time.Duration{"at the TTL": boxTTL, "past the TTL": boxTTL + time.Minute} {
		t.Run(name, func(t *testing.T) {
			h := start(t, nil, true)
			h.ch.pollWait = 50 * time.Millisecond
			var mu sync.Mutex
			now := time.Now()
			h.ch.hub.mu.Lock()
			h.ch.hub.now = func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			}
			h.ch.hub.mu.Unlock()

			welcome := h.post(t, "", clientFrame{Type: typeHello})
			token, cursor := welcome.Frames[0].Token, welcome.Cursor
			addr := normalize.Address("visitor:" + welcome.Frames[0].Visitor)

			mu.Lock()
			now = now.Add(asleep)
			mu.Unlock()
			reply := h.store.reply(addr, normalize.KindText, "your withdrawal is approved")
			_, err := h.ch.Send(context.Background(), normalize.Conversation{Address: addr}, reply)
			require.NoError(t, err)

			_, p := h.poll(t, token, cursor)
			if !p.Reset {
				require.Len(t, p.Frames, 1, "the reply was pushed while the page slept: show it or resync, not nothing")
				require.Equal(t, "your withdrawal is approved", p.Frames[0].Text)
			}
		})
	}
}
