package inbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// heartbeatEvery keeps idle event streams alive through proxies that close quiet connections,
// and is how often an idle stream notices that its session expired or ended.
const heartbeatEvery = 25 * time.Second

// handleEvents streams server-sent events: "changed" with the conversation ID whenever a
// conversation got a message, a reply or a new status, and "expired" when the session ends.
// The page refetches what it shows; events carry no content.
func (i *Inbox) handleEvents(w http.ResponseWriter, r *http.Request, s session) {
	ch, ok := i.events.subscribe()
	if !ok {
		http.Error(w, "The inbox is shutting down.", http.StatusServiceUnavailable)
		return
	}
	defer i.events.unsubscribe(ch)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout; not every writer supports it
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n\n") {
		return
	}
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case conv, ok := <-ch:
			if !ok {
				return
			}
			if !i.sessionLives(r, s) {
				send("event: expired\ndata: {}\n\n")
				return
			}
			data, _ := json.Marshal(map[string]string{"conv": string(conv)})
			if !send("event: changed\ndata: %s\n\n", data) {
				return
			}
		case <-heartbeat.C:
			if !i.sessionLives(r, s) {
				send("event: expired\ndata: {}\n\n")
				return
			}
			if !send(": keep-alive\n\n") {
				return
			}
		}
	}
}

// sessionLives tells whether the stream's session still stands: not expired, and not ended
// since the stream began by signing out or by `gateway inbox-password`, which the expiry
// time alone does not show. A failing database read keeps the stream: it only carries hints.
func (i *Inbox) sessionLives(r *http.Request, s session) bool {
	if !i.now().Before(s.ExpiresAt) {
		return false
	}
	_, ok, err := i.currentSession(r)
	return ok || err != nil
}
