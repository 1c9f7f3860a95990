package loopback

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
)

// maxBody caps every request body the loopback hooks and fakes read: an endless body must not
// exhaust memory, and real webhook senders keep well under it.
const maxBody = 1 << 20

// sinkSlot holds the sink that Run was given. Hooks answer 503 while it is empty: without a
// router behind them nothing would be stored, and acknowledging would lose the message.
type sinkSlot struct {
	p atomic.Pointer[sinkRef]
}

type sinkRef struct{ connectors.Sink }

// run stores sink until ctx ends, then clears it so late requests are refused rather than
// handed to a router that is shutting down.
func (s *sinkSlot) run(ctx context.Context, sink connectors.Sink) error {
	if sink == nil {
		return errors.New("nil sink")
	}
	ref := &sinkRef{sink}
	s.p.Store(ref)
	<-ctx.Done()
	s.p.CompareAndSwap(ref, nil)
	return nil
}

func (s *sinkSlot) get() connectors.Sink {
	if ref := s.p.Load(); ref != nil {
		return ref.Sink
	}
	return nil
}

// readHook checks what every loopback hook requires (POST, the bearer secret, a body of at
// most maxBody) and decodes the JSON body into dst. On failure it has answered the request
// and returns false.
func readHook(w http.ResponseWriter, r *http.Request, secret config.Secret, dst any) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return false
	}
	if !authorized(r, secret) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="loopback"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return false
	}
	status, err := decodeBody(w, r, dst)
	if err != nil {
		writeError(w, status, err.Error())
		return false
	}
	return true
}

// authorized compares in constant time so the secret cannot be guessed byte by byte.
func authorized(r *http.Request, secret config.Secret) bool {
	if secret.Value() == "" {
		return true
	}
	want := "Bearer " + secret.Value()
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) == 1
}

// decodeBody reads the whole body (so trailing bytes past maxBody are caught, not ignored)
// and decodes it; it returns the status to answer with on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) (int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", maxBody)
		}
		return http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return http.StatusBadRequest, fmt.Errorf("malformed JSON: %w", err)
	}
	return http.StatusOK, nil
}

// deliver hands msgs to the sink given to Run and answers the request: 2xx only after Deliver
// returned nil, 422 for input that can never be stored (the sender must not retry), 503 with
// Retry-After for everything else (the sender retries and the store deduplicates).
func deliver(w http.ResponseWriter, slot *sinkSlot, log *slog.Logger, ok any, fn func(connectors.Sink) error) {
	sink := slot.get()
	if sink == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not running yet")
		return
	}
	if err := fn(sink); err != nil {
		if connectors.IsPermanent(err) {
			log.Warn("hook request rejected", "err", err)
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		log.Error("hook request not stored", "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not stored, retry")
		return
	}
	writeJSON(w, http.StatusOK, ok)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; a client that went away cannot be told anything more.
	_ = json.NewEncoder(w).Encode(v)
}
