package loopback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Channel is the loopback channel: players' apps POST Inbound to its hook, and replies are
// POSTed to SendURL. It is a webhook channel, so Run only holds the sink.
type Channel struct {
	name   normalize.InstanceName
	cfg    config.LoopbackChannel
	remote remote
	log    *slog.Logger
	sink   sinkSlot
}

var (
	_ connectors.Channel        = (*Channel)(nil)
	_ connectors.WebhookHandler = (*Channel)(nil)
)

// NewChannel returns the loopback channel instance name. A nil client gets a default one
// with a timeout.
func NewChannel(name normalize.InstanceName, cfg config.LoopbackChannel, client *http.Client, log *slog.Logger) *Channel {
	return &Channel{name: name, cfg: cfg, remote: newRemote(client, cfg.Secret), log: log}
}

// Run makes the hook accept messages for sink until ctx ends, then returns nil.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	if err := c.sink.run(ctx, sink); err != nil {
		return fmt.Errorf("loopback %s: %w", c.name, err)
	}
	return nil
}

// ServeHTTP takes a batch of player messages and answers 200 only once the sink stored all
// of them; see readHook and deliver for the error answers.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in Inbound
	if !readHook(w, r, c.cfg.Secret, &in) {
		return
	}
	msgs, err := c.convert(in, time.Now().UTC())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	deliver(w, &c.sink, c.log, Accepted{Accepted: len(msgs)}, func(sink connectors.Sink) error {
		// One call for the whole batch lets the store commit it in one transaction.
		return sink.Deliver(r.Context(), msgs...)
	})
}

// convert validates the batch and turns it into inbound messages; now stands in for a
// missing sent_at.
func (c *Channel) convert(in Inbound, now time.Time) ([]normalize.Message, error) {
	switch n := len(in.Messages); {
	case n == 0:
		return nil, errors.New("messages: at least one is required")
	case n > MaxHookMessages:
		return nil, fmt.Errorf("messages: %d over the limit of %d", n, MaxHookMessages)
	}
	msgs := make([]normalize.Message, len(in.Messages))
	for i, p := range in.Messages {
		if p.ID == "" || p.Address == "" {
			return nil, fmt.Errorf("messages[%d]: id and address are required", i)
		}
		sent := p.SentAt
		if sent.IsZero() {
			sent = now
		}
		msgs[i] = normalize.Message{
			Direction:   normalize.Inbound,
			Source:      c.name,
			ExternalID:  normalize.ExternalID(p.ID),
			Channel:     c.name,
			ChannelKind: normalize.KindLoopback,
			Address:     normalize.Address(p.Address),
			Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: p.Name, Language: p.Language,
				VIPTier: p.VIP, ExternalID: p.Address},
			Kind:   normalize.KindText,
			Text:   p.Text,
			SentAt: sent.UTC(),
		}
	}
	return msgs, nil
}

// Send POSTs msg to SendURL with msg.ID as the idempotency key, so the router's retries after
// a lost answer do not reach the player twice.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	out := Outbound{
		MessageID:      string(msg.ID),
		Address:        string(conv.Address),
		ConversationID: string(conv.ID),
		Text:           msg.Text,
		Kind:           string(msg.Kind),
		Author:         msg.Author.DisplayName,
	}
	var resp IDResponse
	if err := c.remote.post(ctx, c.cfg.SendURL, string(msg.ID), out, &resp); err != nil {
		return "", fmt.Errorf("loopback %s: send to %s: %w", c.name, c.cfg.SendURL, err)
	}
	if resp.ID == "" {
		// Retried with the same key, a well-behaved remote answers with the ID this time.
		return "", fmt.Errorf("loopback %s: send to %s: answer without id", c.name, c.cfg.SendURL)
	}
	return normalize.ExternalID(resp.ID), nil
}
