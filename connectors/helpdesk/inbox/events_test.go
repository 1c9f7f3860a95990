package inbox

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEventsAfterPost(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/inbox/events", nil)
	require.NoError(t, err)
	client := *b.client
	client.Timeout = 0 // a stream
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	require.Equal(t, "retry: 3000", next(t, lines), "subscribed")

	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	require.Equal(t, "event: changed", next(t, lines))
	require.Equal(t, `data: {"conv":"c1"}`, next(t, lines))
}

func TestEventsEndOnShutdown(t *testing.T) {
	b := newBroker()
	ch, ok := b.subscribe()
	require.True(t, ok)
	b.publish("c1")
	require.Equal(t, "c1", string(<-ch))
	b.disconnectAll()
	_, open := <-ch
	require.False(t, open)
	b.unsubscribe(ch) // after a disconnect: harmless
	ch2, ok := b.subscribe()
	require.True(t, ok, "a server that goes on takes new streams")
	b.close()
	_, open = <-ch2
	require.False(t, open)
	_, ok = b.subscribe()
	require.False(t, ok)
}

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := newBroker()
	_, ok := b.subscribe()
	require.True(t, ok)
	done := make(chan struct{})
	go func() {
		for range subscriberBuffer * 3 {
			b.publish("c1")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publish blocked on a full subscriber")
	}
}

// next returns the next non-empty line of an event stream.
func next(t *testing.T, lines <-chan string) string {
	t.Helper()
	for {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "stream ended")
			if strings.TrimSpace(l) != "" {
				return l
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
	}
}

// A stream belongs to its session: once the session is gone (signed out here, or by
// `gateway inbox-password` everywhere), the stream tells the page and ends instead of going
// on until the session would have expired.
func TestEventsEndWithTheSession(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/inbox/events", nil)
	require.NoError(t, err)
	client := *b.client
	client.Timeout = 0 // a stream
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	require.Equal(t, "retry: 3000", next(t, lines), "subscribed")

	require.Equal(t, http.StatusSeeOther, b.postForm("/inbox/signout", url.Values{csrfField: {b.csrf}}).status)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	require.Equal(t, "event: expired", next(t, lines), "no news for a session that ended")
	next(t, lines) // its data
	for l := range lines {
		require.Empty(t, strings.TrimSpace(l), "the stream ends")
	}
}
