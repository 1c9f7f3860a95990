package connectors

import (
	"context"

	"github.com/casino-support/gateway/normalize"
)

// SingletonSink runs the part of a connector that allows one live session per account on one
// replica at a time: a Telegram bot's long polling (Telegram answers a second poller 409
// Conflict), an IMAP mailbox's intake, a WhatsApp linked device, RT's transaction poller, a
// loop over state that replicas would both act on. It is an extension of the Sink handed to
// Run, not of the connector: such a connector's Run often does more that every replica must
// do (the e-mail channel's LMTP listener, the voice channel's webhooks need the sink on every
// replica), so the connector itself says which part is the singleton.
type SingletonSink interface {
	// RunSingleton runs run while this replica holds the lease named key in the gateway's
	// store, renewed by a heartbeat; other replicas wait on standby and take over within
	// seconds when the holder dies or stops. run's context ends when the lease is lost (the
	// holder could not renew it in time, or another took it); run then waits on standby
	// again. RunSingleton returns nil once ctx ends, or run's error when run fails (or
	// returns early), having released the lease. instance names the connector in health.
	RunSingleton(ctx context.Context, instance normalize.InstanceName, key string, run func(context.Context) error) error
}

// RunSingleton runs run through sink's SingletonSink, or at once when the sink has none (a
// test's sink: no other replica to exclude).
func RunSingleton(ctx context.Context, sink Sink, instance normalize.InstanceName, key string, run func(context.Context) error) error {
	if s, ok := sink.(SingletonSink); ok {
		return s.RunSingleton(ctx, instance, key, run)
	}
	return run(ctx)
}
