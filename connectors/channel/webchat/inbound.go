package webchat

import (
	"context"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

// rateLimited is the notice a flooding player sees; the message is not delivered.
const rateLimited = "You are sending messages too quickly. Please wait a moment."

// admit decides whether a player message may be delivered at all: the channel must be running,
// the conversation within its rate and the client's address within its own. Uploads ask before
// they store anything.
func (c *Channel) admit(s session, clientID string) *frameError {
	if c.sink() == nil {
		return unavailable(clientID)
	}
	now := c.now()
	// The conversation first: one flooding conversation is stopped by its own limit and does
	// not use up the budget that players sharing its address (a NAT) need.
	if !c.limits.messages.allow(s.addr, now, 1) {
		return c.refuse(reasonMessages, s.client, s.addr, clientID)
	}
	if !c.limits.addrMsgs.allow(s.client, now, 1) {
		return c.refuse(reasonAddressMessages, s.client, s.addr, clientID)
	}
	return nil
}

// newMessage returns the inbound message for a page's client_id. ExternalID is
// "<address>:<client_id>": the same message resent after a reconnect is a duplicate to the
// store. The ID is assigned here so the ack can name it; on a duplicate the store keeps the ID
// of the first copy, so pages key their messages by client_id.
func (c *Channel) newMessage(s session, clientID string) normalize.Message {
	return normalize.Message{
		ID:          normalize.NewMessageID(),
		Direction:   normalize.Inbound,
		Source:      c.name,
		ExternalID:  normalize.ExternalID(string(s.addr) + ":" + clientID),
		Channel:     c.name,
		ChannelKind: normalize.KindWebchat,
		Address:     s.addr,
		Author: normalize.Author{
			Role:        normalize.RolePlayer,
			DisplayName: s.id.displayName(),
			Language:    s.id.Language,
			PlayerID:    s.id.PlayerID,
			PlayerIDBy:  s.id.proof(),
			VIPTier:     s.id.VIP,
			ExternalID:  string(s.addr),
		},
		Kind:   normalize.KindText,
		SentAt: c.now().UTC(),
	}
}

// deliver hands m to the sink and returns only after Deliver did: the caller acknowledges to
// the page on nil, never before. The player's other open pages get a copy.
func (c *Channel) deliver(ctx context.Context, s session, clientID string, m normalize.Message, self *pageConn) *frameError {
	sink := c.sink()
	if sink == nil {
		return unavailable(clientID)
	}
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	if err := sink.Deliver(ctx, m); err != nil {
		if connectors.IsPermanent(err) {
			c.log.Warn("message rejected by the router", "conv", s.addr, "msg_id", m.ID, "err", err)
			return &frameError{Code: codeRejected, Message: "This message cannot be accepted.", ClientID: clientID}
		}
		c.log.Error("message not stored; the page resends it", "conv", s.addr, "msg_id", m.ID, "err", err)
		return unavailable(clientID)
	}
	if w, ok := c.view(m); ok {
		w.State = string(normalize.StateQueued)
		c.push(ctx, s.addr, encode(messageFrame{Type: typeMessage, wireMessage: w}), self, "")
	}
	return nil
}

// receive handles a message frame: admit, deliver, ack.
func (c *Channel) receive(ctx context.Context, s session, f clientFrame, self *pageConn) any {
	if ferr := c.admit(s, f.ClientID); ferr != nil {
		return ferr.frame()
	}
	m := c.newMessage(s, f.ClientID)
	m.Text = f.Text
	if ferr := c.deliver(ctx, s, f.ClientID, m, self); ferr != nil {
		return ferr.frame()
	}
	return ackFrame{Type: typeAck, ClientID: f.ClientID, ID: string(m.ID)}
}

// receiveCallback handles a call-back request: like a message, admitted, delivered and acked
// under its client_id, flagged as a request (connectors/callback) with the number in E.164.
func (c *Channel) receiveCallback(ctx context.Context, s session, f clientFrame, self *pageConn) any {
	if !c.cfg.CallbackRequests {
		return badRequest("this chat takes no call-back requests").frame()
	}
	cb, err := callback.New(f.Phone, c.cfg.CallbackRegion, f.PreferredTime)
	if err != nil {
		msg := "Please enter a valid phone number."
		if c.cfg.CallbackRegion == "" {
			msg = "Please enter a valid phone number with its country code, such as +44 20 7946 0958."
		}
		return (&frameError{Code: codeInvalidPhone, Message: msg, ClientID: f.ClientID}).frame()
	}
	if ferr := c.admit(s, f.ClientID); ferr != nil {
		return ferr.frame()
	}
	m := c.newMessage(s, f.ClientID)
	callback.Mark(&m, cb, "the web chat")
	if ferr := c.deliver(ctx, s, f.ClientID, m, self); ferr != nil {
		return ferr.frame()
	}
	c.log.Info("call-back requested", "conv", s.addr, "msg_id", m.ID)
	return ackFrame{Type: typeAck, ClientID: f.ClientID, ID: string(m.ID),
		Callback: &wireCallback{Phone: cb.Phone, PreferredTime: cb.PreferredTime}}
}

// handle acts on one frame of an authenticated page and returns the frame to answer with, or
// nil. Hello is the transports' business (it creates the session).
func (c *Channel) handle(ctx context.Context, s session, f clientFrame, self *pageConn) any {
	if !c.limits.frames.allow(s.addr, c.now(), 1) {
		return c.refuse(reasonFrames, s.client, s.addr, f.ClientID).frame()
	}
	switch f.Type {
	case typeMessage:
		return c.receive(ctx, s, f, self)
	case typeCallback:
		return c.receiveCallback(ctx, s, f, self)
	case typeReceipt:
		if ferr := c.receipt(ctx, s, normalize.MessageID(f.ID), normalize.DeliveryState(f.State)); ferr != nil {
			return ferr.frame()
		}
	case typeTyping:
		// Player typing is not forwarded: no helpdesk contract carries it yet.
	case typeHello:
		return badRequest("already said hello on this connection").frame()
	}
	return nil
}
