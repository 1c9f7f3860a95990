package connectors

import (
	"errors"
	"log/slog"
	"net/http"
)

// HookAnswer is how a webhook answers the sender once Sink.Deliver returned err (through a
// SinkSlot, so ErrNotRunning counts): 200 once stored; 422 for input that can never be
// stored, so the sender stops retrying; 503 with Retry-After otherwise, since the sender
// retries and the store deduplicates. The answer is never 2xx for what was not stored. It
// sets Retry-After on w when the sender should retry, logs refusals to log, and returns the
// status and a reason for the body, which each handler writes in its protocol's format.
func HookAnswer(w http.ResponseWriter, err error, log *slog.Logger) (status int, reason string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, ErrNotRunning):
		w.Header().Set("Retry-After", "1")
		return http.StatusServiceUnavailable, "not running yet, retry"
	case IsPermanent(err):
		log.Warn("hook request refused for good", "err", err)
		return http.StatusUnprocessableEntity, err.Error()
	}
	log.Error("hook request not stored; the sender retries", "err", err)
	w.Header().Set("Retry-After", "1")
	return http.StatusServiceUnavailable, "not stored, retry"
}
