package hdkit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Run is the Run of a notify-then-read backend: it makes slot hold sink for the backend's
// webhook while it runs, and polls with once every interval (a mode poll's interval, or a
// mode webhook's reconcile interval as its safety net) on one replica at a time (the lease
// named key), until ctx ends; then it returns nil. An interval of 0 or less polls never.
// what names the remote in the errors and log lines ("helpscout").
func Run(ctx context.Context, sink connectors.Sink, slot *connectors.SinkSlot, instance normalize.InstanceName,
	interval time.Duration, key string, log *slog.Logger, what string, once func(context.Context, connectors.Sink) error) error {
	release, err := slot.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, instance, err)
	}
	defer release()
	if interval <= 0 {
		<-ctx.Done()
		return nil
	}
	err = connectors.RunSingleton(ctx, sink, instance, key, func(ctx context.Context) error {
		PollLoop(ctx, sink, instance, interval, log, what, func(ctx context.Context) error { return once(ctx, sink) })
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
