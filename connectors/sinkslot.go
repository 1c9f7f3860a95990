package connectors

import (
	"context"
	"errors"
	"github.com/casino-support/gateway/normalize"
	"sync/atomic"
)

// SinkSlot holds the sink a connector's Run was given, while Run runs, for the connector's
// HTTP handlers: webhooks and pages serve requests the router did not start, and must refuse
// them (never acknowledge) while there is no sink to store what they carry. The zero value is
// an empty slot, safe for concurrent use.
type SinkSlot struct {
	p atomic.Pointer[heldSink]
}

type heldSink struct {
	sink Sink
	ctx  context.Context
}

// ErrNotRunning is returned for input that arrives while the connector's Run does not hold
// a sink (start-up, shutdown): the sender should try again shortly.
var ErrNotRunning = errors.New("not running yet")

// Fill puts sink into the slot until release is called or ctx ends, whichever comes first
// for the handlers; ctx is what Held returns with it, for work that must stop with Run. A
// nil sink, or a slot filled already, is an error.
func (s *SinkSlot) Fill(ctx context.Context, sink Sink) (release func(), err error) {
	if sink == nil {
		return nil, errors.New("nil sink")
	}
	h := &heldSink{sink: sink, ctx: ctx}
	if !s.p.CompareAndSwap(nil, h) {
		return nil, errors.New("already running")
	}
	return func() { s.p.CompareAndSwap(h, nil) }, nil
}

// Hold fills the slot with sink until ctx ends, then empties it and returns nil: the whole
// Run of a connector fed only by HTTP requests.
func (s *SinkSlot) Hold(ctx context.Context, sink Sink) error {
	release, err := s.Fill(ctx, sink)
	if err != nil {
		return err
	}
	<-ctx.Done()
	release()
	return nil
}

// Sink returns the sink held, or nil while Run does not run.
func (s *SinkSlot) Sink() Sink {
	if h := s.p.Load(); h != nil {
		return h.sink
	}
	return nil
}

// Held returns the sink held and the context of the Run that holds it; ok is false while
// Run does not run.
func (s *SinkSlot) Held() (sink Sink, runCtx context.Context, ok bool) {
	if h := s.p.Load(); h != nil {
		return h.sink, h.ctx, true
	}
	return nil, nil, false
}

// Deliver hands msgs to the sink held; it returns ErrNotRunning while there is none.
func (s *SinkSlot) Deliver(ctx context.Context, msgs ...normalize.Message) error {
	sink := s.Sink()
	if sink == nil {
		return ErrNotRunning
	}
	return sink.Deliver(ctx, msgs...)
}
