package telegramfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// secretPattern is what setWebhook accepts as secret_token.
var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// getUpdates confirms every update below offset, then answers up to limit pending updates,
// waiting up to timeout seconds for one when there are none. A newer getUpdates arriving while
// it waits ends it with 409 Conflict (pollers.go).
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p request) {
	me := s.startPoll()
	defer s.endPoll(me)
	offset, _ := strconv.Atoi(p.get("offset"))
	limit, err := strconv.Atoi(p.get("limit"))
	if err != nil || limit > 100 || limit < 1 {
		limit = 100 // the server clamps rather than rejects
	}
	timeout, _ := strconv.Atoi(p.get("timeout"))
	timeout = min(max(timeout, 0), 50)
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.webhook.url != "" {
			s.mu.Unlock()
			s.endPoll(me)
			fail(w, http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", 0)
			return
		}
		s.confirm(offset)
		batch := make([]json.RawMessage, 0, limit)
		now := time.Now()
		for _, u := range s.updates {
			if len(batch) == limit {
				break
			}
			batch = append(batch, u.raw)
			s.markHandedOut(u.id, now)
		}
		wake := s.wake
		s.mu.Unlock()
		if len(batch) > 0 || timeout == 0 {
			s.endPoll(me)
			ok200(w, batch)
			return
		}
		select {
		case <-wake:
		case <-deadline.C:
			s.endPoll(me)
			ok200(w, batch)
			return
		case <-me.terminated:
			s.endPoll(me)
			fail(w, http.StatusConflict, ConflictPollers, 0)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// confirm drops the updates with an ID below offset for good. Callers hold mu.
func (s *Server) confirm(offset int) {
	if offset <= 0 {
		return
	}
	i := 0
	for i < len(s.updates) && s.updates[i].id < offset {
		i++
	}
	s.updates = s.updates[i:]
}

// setWebhook records url and secret_token and starts pushing updates; an empty url removes
// the webhook.
func (s *Server) setWebhook(w http.ResponseWriter, p request) {
	s.mu.Lock()
	if s.refuseHook != "" && p.get("url") != "" {
		desc := s.refuseHook
		s.mu.Unlock()
		fail(w, http.StatusBadRequest, desc, 0)
		return
	}
	if sec := p.get("secret_token"); sec != "" && !secretPattern.MatchString(sec) {
		s.mu.Unlock()
		fail(w, http.StatusBadRequest, "Bad Request: secret token contains unallowed characters", 0)
		return
	}
	s.webhook = webhook{url: p.get("url"), secret: p.get("secret_token")}
	start := s.webhook.url != "" && !s.pushing
	if start {
		s.pushing = true
	}
	s.mu.Unlock()
	if start {
		go s.push()
	}
	ok200(w, true)
}

// push POSTs pending updates one at a time to the webhook with the secret header; an update
// is confirmed by a 2xx answer and retried otherwise, as Telegram does.
func (s *Server) push() {
	client := &http.Client{Timeout: 10 * time.Second}
	defer func() {
		s.mu.Lock()
		s.pushing = false
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		hook := s.webhook
		if hook.url == "" {
			s.mu.Unlock()
			return
		}
		if len(s.updates) == 0 {
			wake := s.wake
			s.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-time.After(50 * time.Millisecond): // notice a removed webhook
				continue
			case <-s.closed:
				return
			}
		}
		u := s.updates[0]
		s.markHandedOut(u.id, time.Now())
		s.mu.Unlock()
		req, err := http.NewRequest(http.MethodPost, hook.url, bytes.NewReader(u.raw))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if hook.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				s.mu.Lock()
				s.confirm(u.id + 1)
				s.mu.Unlock()
				continue
			}
		}
		if !s.sleepOrClose(100 * time.Millisecond) {
			return
		}
	}
}
