package whatsapp

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

// TestChannelConformance runs the router's promises against the channel on the fake client,
// which delivers a message no handler acknowledged again, as WhatsApp does. WhatsApp's
// websocket has no test server, so Send reaches no remote that answers with HTTP statuses
// (FailSend is nil); TestSendErrors checks the classes of whatsmeow's own errors instead.
// The player's phone keeps one message per ID, so a repeated Send, which reuses the ID,
// reaches the player once: Received counts messages by ID, as the phone shows them.
func TestChannelConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
	conformance.RunChannel(t, conformance.ChannelHarness{
		New: func(t *testing.T) connectors.Channel {
			e := newEnv(t, true, nil)
			envs.Put(t, e)
			return e.ch
		},
		PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
			envs.Get(t).client(t, 0).playerSends(textFrom(address, externalID, text))
			return nil
		},
		Received: func(t *testing.T, address normalize.Address) []string {
			jid, err := jidOf(address)
			require.NoError(t, err)
			seen := map[string]bool{}
			var texts []string
			for _, m := range envs.Get(t).client(t, 0).sentMessages() {
				if m.to == jid && !seen[m.id] {
					seen[m.id] = true
					texts = append(texts, textOf(m.msg))
				}
			}
			return texts
		},
		Idempotent: true,
		// Players are phone numbers; the channel answers only those that wrote first, which
		// every conversation the router has did.
		NewAddress: func(t *testing.T) normalize.Address {
			a := newPlayer()
			require.NoError(t, envs.Get(t).ch.ledger.wrote(context.Background(), a))
			return a
		},
		Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
			return envs.Get(t).client(t, 0).isAcked(externalID)
		},
	})
}

var playerSeq atomic.Int64

// newPlayer returns a German mobile number no other test uses.
func newPlayer() normalize.Address {
	return normalize.Address(fmt.Sprintf("+49151%08d", 10000000+playerSeq.Add(1)))
}

// playerJID is the phone-number JID of a player's address.
func playerJID(address normalize.Address) types.JID {
	return types.NewJID(string(address)[1:], types.DefaultUserServer)
}

// incoming is a message event of the player at address, as whatsmeow reports it.
func incoming(address normalize.Address, id string, m *waE2E.Message) *events.Message {
	jid := playerJID(address)
	evt := &events.Message{RawMessage: m, Info: types.MessageInfo{
		MessageSource: types.MessageSource{Chat: jid, Sender: jid},
		ID:            id, PushName: "Ana Silva", Timestamp: time.Unix(1767000000, 0),
	}}
	return evt.UnwrapRaw()
}

func textFrom(address normalize.Address, id, text string) *events.Message {
	return incoming(address, id, &waE2E.Message{Conversation: proto.String(text)})
}

// textOf is the text of a sent message.
func textOf(m *waE2E.Message) string {
	if t := m.GetConversation(); t != "" {
		return t
	}
	return m.GetExtendedTextMessage().GetText()
}
