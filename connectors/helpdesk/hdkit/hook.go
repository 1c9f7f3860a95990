package hdkit

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/casino-support/gateway/connectors"
)

// Deliver is the end of a webhook every notify-then-read backend shares: once the request is
// authenticated and names what changed, sync reads it from the helpdesk's API and hands it to
// the sink Run holds, under a context that also ends with Run's. It answers the request: 200
// once sync returned nil, 503 with Retry-After while Run is not running, else what
// connectors.HookAnswer makes of sync's error (the helpdesk retries). It reports whether
// sync succeeded, for the backend's metrics.
func Deliver(w http.ResponseWriter, r *http.Request, slot *connectors.SinkSlot, log *slog.Logger,
	sync func(ctx context.Context, sink connectors.Sink) error) bool {
	sink, runCtx, ok := slot.Held()
	if !ok {
		w.Header().Set("Retry-After", "1")
		http.Error(w, connectors.ErrNotRunning.Error(), http.StatusServiceUnavailable)
		return false
	}
	ctx, cancel := MergeCancel(r.Context(), runCtx)
	defer cancel()
	if err := sync(ctx, sink); err != nil {
		status, reason := connectors.HookAnswer(w, err, log)
		http.Error(w, reason, status)
		return false
	}
	w.WriteHeader(http.StatusOK)
	return true
}
