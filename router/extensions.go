package router

import (
	"context"
	"fmt"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/health"
)

// The Sink extensions connectors find on the router by type assertion: what they need from it
// besides Deliver.
var (
	_ connectors.TypingSink  = (*Router)(nil)
	_ connectors.ReceiptSink = (*Router)(nil)
	_ connectors.HealthSink  = (*Router)(nil)
	_ connectors.FailureSink = (*Router)(nil)
	_ connectors.SentSink    = (*Router)(nil)
)

// Typing tells the player of conv that an agent is typing, where the channel can show it.
func (r *Router) Typing(ctx context.Context, conv normalize.ConversationID) error {
	c, err := r.store.Conversation(ctx, conv)
	if err != nil {
		return fmt.Errorf("router: typing in %s: %w", conv, err)
	}
	if t, ok := r.channels[c.Channel].(connectors.Typer); ok {
		return t.Typing(ctx, c)
	}
	return nil
}

// Receipt records that the player's app delivered or showed the reply id.
func (r *Router) Receipt(ctx context.Context, id normalize.MessageID, state normalize.DeliveryState) error {
	if err := r.store.MarkState(ctx, id, state); err != nil {
		return fmt.Errorf("router: receipt %s of %s: %w", state, id, err)
	}
	return nil
}

// DeliveryFailed records that a reply channel sent never reached the player, and wakes the
// delivery of the note it adds for the helpdesk.
func (r *Router) DeliveryFailed(ctx context.Context, channel normalize.InstanceName, id normalize.MessageID, reason string) error {
	failed, err := r.store.MarkFailed(ctx, channel, id, reason)
	if err != nil {
		return fmt.Errorf("router: failed delivery of %s on %s: %w", id, channel, err)
	}
	if failed {
		r.log.Warn("reply reported undeliverable", "channel", channel, "msg_id", id, "reason", reason)
		r.poke()
	}
	return nil
}

// SentReply finds the reply channel sent under externalID, for receipts and failures that
// name it by its remote's ID.
func (r *Router) SentReply(ctx context.Context, channel normalize.InstanceName, externalID normalize.ExternalID) (normalize.MessageID, error) {
	id, err := r.store.SentReply(ctx, channel, externalID)
	if err != nil {
		return "", fmt.Errorf("router: reply %s of %s: %w", externalID, channel, err)
	}
	return id, nil
}

// ReportHealth passes a connector's word on its health to Options.Health.
func (r *Router) ReportHealth(instance normalize.InstanceName, problem error) {
	r.opts.Health.Report(instance, health.SourceRemote, problem)
}

// withOptions returns m for ch: its quick replies as they are where ch shows buttons
// (connectors.QuickReplier), listed at the end of the text where it cannot, so the player
// can type one.
func withOptions(ch connectors.Channel, m normalize.Message) normalize.Message {
	if len(m.QuickReplies) == 0 {
		return m
	}
	if q, ok := ch.(connectors.QuickReplier); ok && q.ShowsQuickReplies() {
		return m
	}
	var b strings.Builder
	b.WriteString(m.Text)
	for _, o := range m.QuickReplies {
		b.WriteString("\n• ")
		b.WriteString(o)
	}
	m.Text, m.QuickReplies = b.String(), nil
	return m
}
