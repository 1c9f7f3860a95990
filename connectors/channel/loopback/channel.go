// Package loopback is the loopback channel: players' apps POST messages to its hook and
// replies are POSTed to a URL, in the loopback protocol (connectors/loopbackwire). It lets
// the gateway run end to end over real HTTP without any third-party account.
package loopback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/loopbackwire"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
)

// Channel is the loopback channel: players' apps POST Inbound to its hook, and replies are
// POSTed to SendURL. It is a webhook channel, so Run only holds the sink.
type Channel struct {
	name   normalize.InstanceName
	cfg    Config
	remote loopbackwire.Client
	log    *slog.Logger
	sink   connectors.SinkSlot
}

var (
	_ connectors.Channel        = (*Channel)(nil)
	_ connectors.WebhookHandler = (*Channel)(nil)
)

// New returns the loopback channel instance name. A nil client gets a default one with a
// timeout; a nil log discards.
func New(name normalize.InstanceName, cfg Config, client *http.Client, log *slog.Logger) *Channel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Channel{name: name, cfg: cfg, remote: loopbackwire.NewClient(client, cfg.Secret.Value()), log: log}
}

// Run makes the hook accept messages for sink until ctx ends, then returns nil.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	if err := c.sink.Hold(ctx, sink); err != nil {
		return fmt.Errorf("loopback %s: %w", c.name, err)
	}
	return nil
}

// ServeHTTP takes a batch of player messages and answers 200 only once the sink stored all
// of them; see readHook and deliver for the error answers.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in loopbackwire.Inbound
	if !loopbackwire.ReadRequest(w, r, c.cfg.Secret.Value(), &in) {
		return
	}
	msgs, err := c.convert(in, time.Now().UTC())
	if err != nil {
		loopbackwire.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	// One call for the whole batch lets the store commit it in one transaction.
	err = c.sink.Deliver(r.Context(), msgs...)
	if status, reason := connectors.HookAnswer(w, err, c.log); status != http.StatusOK {
		loopbackwire.WriteError(w, status, reason)
		return
	}
	loopbackwire.WriteJSON(w, http.StatusOK, loopbackwire.Accepted{Accepted: len(msgs)})
}

// convert validates the batch and turns it into inbound messages; now stands in for a
// missing sent_at.
func (c *Channel) convert(in loopbackwire.Inbound, now time.Time) ([]normalize.Message, error) {
	switch n := len(in.Messages); {
	case n == 0:
		return nil, errors.New("messages: at least one is required")
	case n > loopbackwire.MaxHookMessages:
		return nil, fmt.Errorf("messages: %d over the limit of %d", n, loopbackwire.MaxHookMessages)
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
	out := loopbackwire.Outbound{
		MessageID:      string(msg.ID),
		Address:        string(conv.Address),
		ConversationID: string(conv.ID),
		Text:           msg.Text,
		Kind:           string(msg.Kind),
		Author:         msg.Author.DisplayName,
	}
	var resp loopbackwire.IDResponse
	if err := c.remote.Post(ctx, c.cfg.SendURL, string(msg.ID), out, &resp); err != nil {
		return "", fmt.Errorf("loopback %s: send to %s: %w", c.name, settings.RedactURL(c.cfg.SendURL), err)
	}
	if resp.ID == "" {
		// Retried with the same key, a well-behaved remote answers with the ID this time.
		return "", fmt.Errorf("loopback %s: send to %s: answer without id", c.name, settings.RedactURL(c.cfg.SendURL))
	}
	return normalize.ExternalID(resp.ID), nil
}
