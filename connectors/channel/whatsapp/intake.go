package whatsapp

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// onMessage converts a player's message and hands it to the sink. It returns true once the
// message is stored, or is nothing to store (an echo of the number's own message, a status
// update, a group while groups are off, a protocol message); false when it could not be
// stored now, which leaves it unacknowledged for WhatsApp to deliver again. live is false for
// messages from a history sync, which are neither marked read later nor quoted.
func (c *Channel) onMessage(ctx context.Context, cli Client, e *events.Message, live bool) bool {
	info := e.Info
	if why := c.ignored(info); why != "" {
		c.log.Debug("whatsapp: message ignored", "msg", info.ID, "reason", why)
		return true
	}
	phone, err := c.phoneOf(ctx, cli, info.MessageSource)
	if err != nil {
		c.log.Error("whatsapp: message left unacknowledged", "msg", describe(e), "err", err)
		return false
	}
	in, skip := toInbound(e, cli.Download)
	if skip != "" {
		c.log.Debug("whatsapp: message ignored", "msg", info.ID, "reason", skip)
		return true
	}
	in.From = phone.User
	msg, err := c.conv.Message(ctx, in)
	if err != nil {
		if connectors.IsPermanent(err) {
			c.log.Error("whatsapp: message cannot be taken, dropped", "msg", describe(e), "err", err)
			return true
		}
		c.log.Warn("whatsapp: message left unacknowledged", "msg", describe(e), "err", err)
		return false
	}
	if info.IsGroup {
		// A group's messages form one conversation, answered in the group.
		msg.Address = normalize.Address(info.Chat.ToNonAD().String())
	}
	if err := c.ledger.wrote(ctx, msg.Address); err != nil {
		c.log.Warn("whatsapp: message left unacknowledged", "msg", describe(e), "err", err)
		return false
	}
	if err := c.sink.Deliver(ctx, msg); err != nil {
		if connectors.IsPermanent(err) {
			c.log.Error("whatsapp: the store refuses the message for good, dropped", "conv", msg.Address, "msg", describe(e), "err", err)
			return true
		}
		c.log.Warn("whatsapp: message not stored, left unacknowledged for WhatsApp to deliver again",
			"conv", msg.Address, "msg", describe(e), "err", err)
		return false
	}
	if live {
		c.recent.add(info.ID, recentMessage{chat: info.Chat, sender: info.Sender, address: msg.Address, msg: e.Message,
			unread: msg.Kind != normalize.KindReaction && msg.Kind != normalize.KindEdit && msg.Kind != normalize.KindDeletion})
	}
	return true
}

// ignored says why a message carries nothing for the gateway; "" for a player's message.
func (c *Channel) ignored(info types.MessageInfo) string {
	switch {
	case info.IsFromMe:
		return "sent by this number (an echo, or written on the phone)"
	case info.Chat.Server == types.BroadcastServer:
		return "a status update or broadcast list"
	case info.Chat.Server == types.NewsletterServer:
		return "a channel (newsletter)"
	case info.IsGroup && !c.cfg.Groups:
		return "a group chat (groups are off)"
	}
	return ""
}

// phoneOf returns the phone-number JID of a message's sender. WhatsApp may name a sender by
// LID (a hidden ID); the message then carries the number as SenderAlt, or the session learned
// the mapping before.
func (c *Channel) phoneOf(ctx context.Context, cli Client, src types.MessageSource) (types.JID, error) {
	sender := src.Sender.ToNonAD()
	if sender.Server == types.DefaultUserServer {
		return sender, nil
	}
	if alt := src.SenderAlt.ToNonAD(); alt.Server == types.DefaultUserServer {
		return alt, nil
	}
	if sender.Server == types.HiddenUserServer {
		pn, err := cli.PhoneOf(ctx, sender)
		if err != nil {
			return types.JID{}, err
		}
		if pn.Server == types.DefaultUserServer {
			return pn.ToNonAD(), nil
		}
	}
	return types.JID{}, errUnknownSender
}

// historyAttempts bounds how often one history message is tried: a history sync is not
// redelivered like a live message, so it is retried here, but not for ever.
const historyAttempts = 5

// onHistory takes the player messages of a history sync (what the phone hands a newly linked
// device, or what the device missed) that are at most history_max_age old, oldest first, each
// once. The store deduplicates on the message ID too, so a message that came live before is
// not stored twice.
func (c *Channel) onHistory(ctx context.Context, cli Client, e *events.HistorySync) {
	if c.cfg.HistoryMaxAge <= 0 || e.Data == nil {
		return
	}
	oldest := c.now().Add(-c.cfg.HistoryMaxAge)
	seen := map[string]bool{}
	var msgs []*events.Message
	for _, conv := range e.Data.GetConversations() {
		chat, err := types.ParseJID(conv.GetID())
		if err != nil {
			c.log.Debug("whatsapp: history conversation skipped", "chat", conv.GetID(), "err", err)
			continue
		}
		for _, hm := range conv.GetMessages() {
			m, err := cli.ParseWebMessage(chat, hm.GetMessage())
			if err != nil {
				c.log.Debug("whatsapp: history message skipped", "chat", chat, "err", err)
				continue
			}
			if m.Info.Timestamp.Before(oldest) || seen[m.Info.ID] {
				continue
			}
			seen[m.Info.ID] = true
			msgs = append(msgs, m)
		}
	}
	slices.SortStableFunc(msgs, func(a, b *events.Message) int { return a.Info.Timestamp.Compare(b.Info.Timestamp) })
	c.log.Info("whatsapp: history sync", "type", e.Data.GetSyncType().String(), "messages", len(msgs))
	for _, m := range msgs {
		wait := c.waits.backoff
		for attempt := 1; !c.onMessage(ctx, cli, m, false); attempt++ {
			if attempt == historyAttempts {
				c.log.Error("whatsapp: history message not taken", "msg", describe(m))
				break
			}
			if !connectors.Sleep(ctx, wait) {
				return
			}
			wait = min(2*wait, c.waits.maxBack)
		}
	}
}

// onReceipt records what the player's phone reports of replies: delivered, read (or played,
// for voice). It returns false when the store could not record it now, so WhatsApp sends the
// receipt again.
func (c *Channel) onReceipt(ctx context.Context, e *events.Receipt) bool {
	var state normalize.DeliveryState
	switch e.Type {
	case types.ReceiptTypeDelivered:
		state = normalize.StateDelivered
	case types.ReceiptTypeRead, types.ReceiptTypePlayed:
		state = normalize.StateRead
	default:
		return true // the number's own devices, retries, server notices
	}
	if e.IsFromMe {
		return true
	}
	rs, ok := c.sink.Sink().(connectors.ReceiptSink)
	if !ok {
		return true
	}
	for _, waID := range e.MessageIDs {
		id, err := c.ledger.messageOf(ctx, waID)
		if err != nil {
			c.log.Warn("whatsapp: receipt not recorded", "wa_id", waID, "err", err)
			return false
		}
		if id == "" {
			continue // sent from the phone, or long ago
		}
		if err := rs.Receipt(ctx, id, state); err != nil && !errors.Is(err, connectors.ErrNotFound) {
			c.log.Warn("whatsapp: receipt not recorded", "msg_id", id, "state", state, "err", err)
			return false
		}
	}
	return true
}

// recentMessage is a player's message the channel keeps for a while: to quote it in a reply,
// and to mark it read once an agent answered.
type recentMessage struct {
	chat, sender types.JID
	address      normalize.Address
	msg          *waE2E.Message
	unread       bool
	at           time.Time
}

// recentMessages keeps the last few thousand player messages in memory, by WhatsApp ID.
// Losing them on a restart costs a reply its quoted preview and a read mark, nothing more.
type recentMessages struct {
	mu    sync.Mutex
	max   int
	byID  map[string]*recentMessage
	order []string
}

func newRecentMessages(max int) *recentMessages {
	return &recentMessages{max: max, byID: map[string]*recentMessage{}}
}

func (r *recentMessages) add(id string, m recentMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[id]; ok {
		return
	}
	if len(r.order) >= r.max {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
	r.byID[id] = &m
	r.order = append(r.order, id)
}

// get returns the message id, if kept.
func (r *recentMessages) get(id string) (recentMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.byID[id]
	if !ok {
		return recentMessage{}, false
	}
	return *m, true
}

// takeUnread returns the unread messages of address, grouped by chat and sender as MarkRead
// takes them, and counts them read.
func (r *recentMessages) takeUnread(address normalize.Address) map[[2]types.JID][]types.MessageID {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[[2]types.JID][]types.MessageID{}
	for _, id := range r.order {
		m := r.byID[id]
		if m.address == address && m.unread {
			m.unread = false
			key := [2]types.JID{m.chat, m.sender}
			out[key] = append(out[key], id)
		}
	}
	return out
}
