// Package loopback is the loopback helpdesk: tickets and messages are POSTed to a URL with
// idempotency keys and agent replies arrive at its hook, in the loopback protocol
// (connectors/loopbackwire). It lets the gateway run end to end over real HTTP without any
// third-party account.
package loopback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/loopbackwire"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
)

// subjectRunes caps a ticket subject taken from the first message, as ticket systems do.
const subjectRunes = 80

// Helpdesk is the loopback helpdesk: tickets and messages are POSTed to URL with idempotency
// keys, and agent replies arrive as Reply at its hook. Run only holds the sink.
type Helpdesk struct {
	name   normalize.InstanceName
	base   string
	cfg    Config
	remote loopbackwire.Client
	log    *slog.Logger
	sink   connectors.SinkSlot
}

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
)

// New returns the loopback helpdesk instance name. A nil client gets a default one with a
// timeout; a nil log discards.
func New(name normalize.InstanceName, cfg Config, client *http.Client, log *slog.Logger) *Helpdesk {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Helpdesk{name: name, base: strings.TrimSuffix(cfg.URL, "/"), cfg: cfg,
		remote: loopbackwire.NewClient(client, cfg.Secret.Value()), log: log}
}

// Run makes the hook accept agent replies for sink until ctx ends, then returns nil.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	if err := h.sink.Hold(ctx, sink); err != nil {
		return fmt.Errorf("loopback %s: %w", h.name, err)
	}
	return nil
}

// Post creates the conversation's ticket when it has none and appends msgs in order. The
// conversation ID keys the ticket creation and each message ID its post, so a retry after a
// crash or a lost answer neither opens a second ticket nor doubles a message; Attempt is
// therefore not needed.
func (h *Helpdesk) Post(ctx context.Context, conv normalize.Conversation, msgs []connectors.Delivery) (normalize.Ref, []normalize.ExternalID, error) {
	ticket := conv.Ticket
	if len(msgs) == 0 {
		return ticket, nil, nil
	}
	if ticket == "" {
		var err error
		if ticket, err = h.createTicket(ctx, conv, msgs[0].Message); err != nil {
			return "", nil, err
		}
	}
	ids := make([]normalize.ExternalID, 0, len(msgs))
	for _, d := range msgs {
		id, err := h.postMessage(ctx, ticket, d.Message)
		if err != nil {
			return ticket, ids, err
		}
		ids = append(ids, id)
	}
	return ticket, ids, nil
}

func (h *Helpdesk) createTicket(ctx context.Context, conv normalize.Conversation, first normalize.Message) (normalize.Ref, error) {
	player := conv.Player
	if player == (normalize.Author{}) {
		player = first.Author
	}
	req := loopbackwire.TicketRequest{
		ConversationID: string(conv.ID),
		Channel:        string(conv.Channel),
		Address:        string(conv.Address),
		Player:         player,
		Subject:        subject(conv, first),
	}
	target := h.base + "/tickets"
	shown := settings.RedactURL(target) // errors reach logs and dead letters
	var resp loopbackwire.TicketResponse
	if err := h.remote.Post(ctx, target, string(conv.ID), req, &resp); err != nil {
		return "", fmt.Errorf("loopback %s: create ticket at %s: %w", h.name, shown, err)
	}
	if resp.Ticket == "" {
		return "", fmt.Errorf("loopback %s: create ticket at %s: answer without ticket", h.name, shown)
	}
	return normalize.Ref(resp.Ticket), nil
}

func (h *Helpdesk) postMessage(ctx context.Context, ticket normalize.Ref, msg normalize.Message) (normalize.ExternalID, error) {
	req := loopbackwire.MessageRequest{
		MessageID:   string(msg.ID),
		Text:        msg.Text,
		Author:      msg.Author.DisplayName,
		Kind:        string(msg.Kind),
		Attachments: msg.Attachments,
	}
	target := h.base + "/tickets/" + url.PathEscape(string(ticket)) + "/messages"
	shown := settings.RedactURL(target) // errors reach logs and dead letters
	var resp loopbackwire.IDResponse
	if err := h.remote.Post(ctx, target, string(msg.ID), req, &resp); err != nil {
		return "", fmt.Errorf("loopback %s: post message %s to %s: %w", h.name, msg.ID, shown, err)
	}
	if resp.ID == "" {
		return "", fmt.Errorf("loopback %s: post message %s to %s: answer without id", h.name, msg.ID, shown)
	}
	return normalize.ExternalID(resp.ID), nil
}

// subject is the first message's text, shortened, or a fallback for messages without text.
func subject(conv normalize.Conversation, first normalize.Message) string {
	s := strings.Join(strings.Fields(first.Text), " ")
	if s == "" {
		return fmt.Sprintf("Conversation on %s with %s", conv.Channel, conv.Address)
	}
	if r := []rune(s); len(r) > subjectRunes {
		s = strings.TrimRight(string(r[:subjectRunes-1]), " ") + "…"
	}
	return s
}

// ServeHTTP takes one agent reply and answers 200 only once the sink stored it; an unknown
// ticket is a permanent Deliver error and answers 422.
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rep loopbackwire.Reply
	if !loopbackwire.ReadRequest(w, r, h.cfg.Secret.Value(), &rep) {
		return
	}
	msg, err := h.convert(rep, time.Now().UTC())
	if err != nil {
		loopbackwire.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if status, reason := connectors.HookAnswer(w, h.sink.Deliver(r.Context(), msg), h.log); status != http.StatusOK {
		loopbackwire.WriteError(w, status, reason)
		return
	}
	loopbackwire.WriteJSON(w, http.StatusOK, loopbackwire.IDResponse{ID: rep.ReplyID})
}

func (h *Helpdesk) convert(rep loopbackwire.Reply, now time.Time) (normalize.Message, error) {
	switch {
	case rep.ReplyID == "":
		return normalize.Message{}, errors.New("reply_id is required")
	case rep.Ticket == "" && rep.ConversationID == "":
		return normalize.Message{}, errors.New("ticket or conversation_id is required")
	case strings.TrimSpace(rep.Text) == "":
		return normalize.Message{}, errors.New("text is required")
	}
	kind := normalize.KindText
	if rep.Note {
		kind = normalize.KindNote
	}
	return normalize.Message{
		Direction:    normalize.Outbound,
		Source:       h.name,
		ExternalID:   normalize.ExternalID(rep.ReplyID),
		Conversation: normalize.ConversationID(rep.ConversationID),
		Ticket:       normalize.Ref(rep.Ticket),
		Author:       normalize.Author{Role: normalize.RoleAgent, DisplayName: rep.Agent},
		Kind:         kind,
		Text:         rep.Text,
		ReplyTo:      normalize.ExternalID(rep.ReplyTo),
		SentAt:       now,
	}, nil
}
