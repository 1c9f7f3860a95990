package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
)

// handle is the event handler of cli. Its result is whatsmeow's success status: false leaves
// a message (or receipt) unacknowledged, so WhatsApp delivers it again.
func (c *Channel) handle(ctx context.Context, cli Client, link chan<- linkEvent, evt any) bool {
	switch e := evt.(type) {
	case *events.Message:
		return c.onMessage(ctx, cli, e, true)
	case *events.HistorySync:
		c.onHistory(ctx, cli, e)
	case *events.Receipt:
		return c.onReceipt(ctx, e)
	default:
		c.onLink(cli, link, evt)
	}
	return true
}

// onLink follows the connection's events into the instance's state, and tells the connection
// loop what whatsmeow will not do itself: reconnect after WhatsApp ended the connection for
// good (a ban, another process, a refusal), or start over unpaired after a logout.
func (c *Channel) onLink(cli Client, link chan<- linkEvent, evt any) {
	tell := func(ev linkEvent) {
		select {
		case link <- ev:
		default: // the loop has enough to act on; it reads the state anew
		}
	}
	switch e := evt.(type) {
	case *events.Connected:
		if a, err := wamsg.Address(cli.OwnID().User); err == nil {
			c.state.setAccount(string(a))
		}
		c.state.set(StateConnected, "connected", nil)
		tell(linkEvent{connected: true})
	case *events.PairSuccess:
		if a, err := wamsg.Address(e.ID.User); err == nil {
			c.state.setAccount(string(a))
		}
	case *events.Disconnected:
		c.state.set(StateDisconnected, "the connection to WhatsApp dropped; reconnecting",
			errors.New("the connection to WhatsApp dropped; reconnecting"))
	case *events.KeepAliveTimeout:
		c.log.Info("whatsapp: WhatsApp does not answer keep-alives", "errors", e.ErrorCount, "last_success", e.LastSuccess)
	case *events.LoggedOut:
		detail := fmt.Sprintf("logged out (%s): the phone or WhatsApp removed this linked device; stop the gateway and run `%s` to pair again",
			e.Reason, pairCommand(c.name))
		c.state.set(StateLoggedOut, detail, fmt.Errorf("%s: %w", detail, connectors.ErrUnauthorized))
		tell(linkEvent{loggedOut: true})
	case *events.StreamReplaced:
		detail := fmt.Sprintf("another process connected with this instance's session (a second gateway, or a copy of the data directory); "+
			"stop it: two processes on one session keep throwing each other out; reconnecting in %s", c.waits.replaced)
		c.state.set(StateReplaced, detail, errors.New(detail))
		tell(linkEvent{retryIn: c.waits.replaced})
	case *events.TemporaryBan:
		wait := e.Expire
		if wait <= 0 {
			wait = time.Hour // WhatsApp gave no end: look again in an hour
		}
		until := c.now().Add(wait).UTC()
		detail := fmt.Sprintf("temporary ban code %s until %s; WhatsApp bans numbers that message people who did not write first, "+
			"are blocked by many, or send the same text to many", e.Code, until.Format(time.RFC3339))
		c.state.banned(detail, until)
		tell(linkEvent{retryIn: wait})
	case *events.ConnectFailure:
		detail := fmt.Sprintf("WhatsApp refused the connection: code %d %s %s; retrying in %s", int(e.Reason), e.Reason, e.Message, c.waits.failure)
		c.state.set(StateFailed, detail, errors.New(detail))
		tell(linkEvent{retryIn: c.waits.failure})
	case *events.ClientOutdated:
		detail := fmt.Sprintf("WhatsApp refuses this client version as outdated (405): update the gateway (it pins go.mau.fi/whatsmeow); retrying in %s", c.waits.outdated)
		c.state.set(StateFailed, detail, errors.New(detail))
		tell(linkEvent{retryIn: c.waits.outdated})
	}
}

// alreadyConnected reports a Connect that found whatsmeow connected (its own reconnect won).
func alreadyConnected(err error) bool { return errors.Is(err, whatsmeow.ErrAlreadyConnected) }
