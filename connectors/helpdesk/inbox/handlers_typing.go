package inbox

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
)

const (
	// typingInterval is how often one agent's typing in one conversation reaches the channel;
	// the page sends no more often either, this guards against other clients.
	typingInterval = 3 * time.Second
	// typingTimeout bounds a typing hint: it is worthless once late.
	typingTimeout   = 5 * time.Second
	maxThrottleKeys = 4096
)

// handleTyping passes an agent's typing on to the player's channel, at most once per
// typingInterval per agent and conversation. It is a hint: failures are logged, not shown.
func (i *Inbox) handleTyping(w http.ResponseWriter, r *http.Request, s session) {
	conv, err := i.ownConversation(r.Context(), r.PathValue("id"))
	if err != nil {
		i.plainConversationError(w, err)
		return
	}
	typing, ok := i.sink.Sink().(connectors.TypingSink)
	if ok && i.typing.allow(s.Agent+"\x00"+string(conv.ID), i.now()) {
		ctx, cancel := context.WithTimeout(r.Context(), typingTimeout)
		defer cancel()
		if err := typing.Typing(ctx, conv.ID); err != nil {
			i.log.Debug("typing hint", "conv", conv.ID, "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// throttle lets one event per key through per interval.
type throttle struct {
	mu    sync.Mutex
	every time.Duration
	last  map[string]time.Time
}

func newThrottle(every time.Duration) *throttle {
	return &throttle{every: every, last: map[string]time.Time{}}
}

func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.last) >= maxThrottleKeys {
		for k, at := range t.last {
			if now.Sub(at) >= t.every {
				delete(t.last, k)
			}
		}
	}
	if at, ok := t.last[key]; ok && now.Sub(at) < t.every {
		return false
	}
	t.last[key] = now
	return true
}
