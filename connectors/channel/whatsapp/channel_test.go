package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
)

// sink records messages, receipts and health reports; it fails Deliver while err is set.
type sink struct {
	conformance.RecordingSink
	mu       sync.Mutex
	receipts map[normalize.MessageID]normalize.DeliveryState
	health   []error
}

func newSink() *sink { return &sink{receipts: map[normalize.MessageID]normalize.DeliveryState{}} }

func (s *sink) Receipt(_ context.Context, id normalize.MessageID, st normalize.DeliveryState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receipts[id] = st
	return nil
}

func (s *sink) ReportHealth(_ normalize.InstanceName, problem error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health = append(s.health, problem)
}

func (s *sink) lastHealth() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.health) == 0 {
		return errors.New("no report")
	}
	return s.health[len(s.health)-1]
}

// started runs the channel on a paired fake until it is connected.
func started(t *testing.T, mutate func(*Config)) (*env, *fakeClient, *sink) {
	t.Helper()
	e := newEnv(t, true, mutate)
	s := newSink()
	e.run(t, s)
	f := e.client(t, 0)
	e.waitState(t, StateConnected)
	return e, f, s
}

func media(path string) (url, direct *string, key []byte) {
	return proto.String("https://mmg.whatsapp.net" + path), proto.String(path), []byte("key")
}

// TestMessageKinds feeds whatsmeow's message events of every kind a player sends and checks
// what reaches the sink.
func TestMessageKinds(t *testing.T) {
	e, f, s := started(t, nil)
	player := newPlayer()
	f.media["/img"], f.media["/doc"], f.media["/ptt"], f.media["/aud"], f.media["/vid"], f.media["/stk"] =
		[]byte("\x89PNG fake"), []byte("%PDF-1.7"), []byte("OggS voice"), []byte("ID3 mp3"), []byte("mp4"), []byte("RIFF webp")
	u, d, k := media("/img")
	quoted := &waE2E.ContextInfo{StanzaID: proto.String("3EB0QUOTED"), Participant: proto.String(ownNumber + "@s.whatsapp.net")}
	tests := []struct {
		name  string
		msg   *waE2E.Message
		check func(t *testing.T, m normalize.Message)
	}{
		{"conversation", &waE2E.Message{Conversation: proto.String("Hallo, my deposit is missing")}, func(t *testing.T, m normalize.Message) {
			require.Equal(t, normalize.KindText, m.Kind)
			require.Equal(t, "Hallo, my deposit is missing", m.Text)
		}},
		{"extended text reply", &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("still waiting"), ContextInfo: quoted}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindText, m.Kind)
				require.Equal(t, "still waiting", m.Text)
				require.Equal(t, normalize.ExternalID("3EB0QUOTED"), m.ReplyTo)
			}},
		{"image", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{URL: u, DirectPath: d, MediaKey: k, Mimetype: proto.String("image/png"),
			Caption: proto.String("my ID"), FileLength: proto.Uint64(9)}}, func(t *testing.T, m normalize.Message) {
			require.Equal(t, normalize.KindImage, m.Kind)
			require.Contains(t, m.Text, "my ID")
			require.Len(t, m.Attachments, 1)
		}},
		{"document", &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{DirectPath: proto.String("/doc"), Mimetype: proto.String("application/pdf"),
			FileName: proto.String("statement.pdf")}}, func(t *testing.T, m normalize.Message) {
			require.Equal(t, normalize.KindDocument, m.Kind)
			require.Len(t, m.Attachments, 1)
			require.Equal(t, "statement.pdf", m.Attachments[0].Name)
			require.Equal(t, "application/pdf", m.Attachments[0].MediaType)
		}},
		{"voice note", &waE2E.Message{AudioMessage: &waE2E.AudioMessage{DirectPath: proto.String("/ptt"), Mimetype: proto.String("audio/ogg; codecs=opus"), PTT: proto.Bool(true)}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindVoiceMsg, m.Kind)
				require.Len(t, m.Attachments, 1)
				require.Equal(t, "audio/ogg", m.Attachments[0].MediaType)
			}},
		{"audio", &waE2E.Message{AudioMessage: &waE2E.AudioMessage{DirectPath: proto.String("/aud"), Mimetype: proto.String("audio/mpeg")}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindAudio, m.Kind)
				require.Len(t, m.Attachments, 1)
			}},
		{"video", &waE2E.Message{VideoMessage: &waE2E.VideoMessage{DirectPath: proto.String("/vid"), Mimetype: proto.String("video/mp4"), Caption: proto.String("look")}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindVideo, m.Kind)
				require.Len(t, m.Attachments, 1)
			}},
		{"sticker", &waE2E.Message{StickerMessage: &waE2E.StickerMessage{DirectPath: proto.String("/stk"), Mimetype: proto.String("image/webp")}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindSticker, m.Kind)
				require.Len(t, m.Attachments, 1)
			}},
		{"location", &waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(52.52), DegreesLongitude: proto.Float64(13.405),
			Name: proto.String("Casino Berlin")}}, func(t *testing.T, m normalize.Message) {
			require.Equal(t, normalize.KindLocation, m.Kind)
			require.Equal(t, &normalize.Location{Latitude: 52.52, Longitude: 13.405}, m.Location)
			require.Contains(t, m.Text, "Casino Berlin")
		}},
		{"contact", &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Bruno"),
			Vcard: proto.String("BEGIN:VCARD\nVERSION:3.0\nFN:Bruno\nitem1.TEL;waid=4915112345678:+49 151 12345678\nEND:VCARD")}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindContact, m.Kind)
				require.Contains(t, m.Text, "Bruno")
				require.Contains(t, m.Text, "+49 151 12345678")
			}},
		{"contacts", &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{Contacts: []*waE2E.ContactMessage{
			{DisplayName: proto.String("Ana"), Vcard: proto.String("BEGIN:VCARD\nTEL:+351 912 345 678\nEND:VCARD")},
			{DisplayName: proto.String("Rui"), Vcard: proto.String("BEGIN:VCARD\nTEL;TYPE=CELL:+351 913 000 000\nEND:VCARD")}}}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindContact, m.Kind)
				require.Contains(t, m.Text, "Ana, +351 912 345 678")
				require.Contains(t, m.Text, "Rui, +351 913 000 000")
			}},
		{"reaction", &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: &waCommon.MessageKey{ID: proto.String("3EB0TARGET")}, Text: proto.String("👍")}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindReaction, m.Kind)
				require.Equal(t, normalize.ExternalID("3EB0TARGET"), m.Edits)
				require.Equal(t, "👍", m.Text)
			}},
		{"edit", &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: &waCommon.MessageKey{ID: proto.String("3EB0TARGET")}, TimestampMS: proto.Int64(1767000001000),
			EditedMessage: &waE2E.Message{Conversation: proto.String("my deposit of 50 EUR")}}}}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindEdit, m.Kind)
				require.Equal(t, normalize.ExternalID("3EB0TARGET"), m.Edits)
				require.Equal(t, normalize.ExternalID("3EB0TARGET:edit:1767000001000"), m.ExternalID, "an edit needs an ID apart from its target's")
				require.Equal(t, "my deposit of 50 EUR", m.Text)
			}},
		{"revoke", &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: &waCommon.MessageKey{ID: proto.String("3EB0TARGET")}}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindDeletion, m.Kind)
				require.Equal(t, normalize.ExternalID("3EB0TARGET"), m.Edits)
				require.Equal(t, normalize.ExternalID("3EB0TARGET:deleted"), m.ExternalID)
			}},
		{"poll", &waE2E.Message{PollCreationMessageV3: &waE2E.PollCreationMessage{Name: proto.String("which game?")}},
			func(t *testing.T, m normalize.Message) {
				require.Equal(t, normalize.KindSystem, m.Kind)
				require.Contains(t, m.Text, "poll creation")
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "3EB0KIND" + strings.Repeat("0", i)
			evt := incoming(player, id, tt.msg)
			require.True(t, f.emit(evt), "a stored message is acknowledged")
			got := s.Where(func(m normalize.Message) bool {
				return m.Address == player && (m.ExternalID == normalize.ExternalID(id) || strings.HasPrefix(string(m.ExternalID), "3EB0TARGET"))
			})
			require.NotEmpty(t, got)
			m := got[len(got)-1]
			require.Equal(t, normalize.Inbound, m.Direction)
			require.Equal(t, normalize.InstanceName("wa"), m.Source)
			require.Equal(t, normalize.KindWhatsApp, m.ChannelKind)
			require.Equal(t, "Ana Silva", m.Author.DisplayName)
			tt.check(t, m)
			for _, a := range m.Attachments {
				rc, err := e.blobs.Open(context.Background(), a.BlobRef)
				require.NoError(t, err)
				rc.Close()
			}
		})
	}
}

// TestMediaDownloadFailure: media WhatsApp no longer serves reaches the ticket as a notice;
// the message is stored and acknowledged all the same.
func TestMediaDownloadFailure(t *testing.T) {
	_, f, s := started(t, nil)
	f.mediaErr = whatsmeow.ErrMediaDownloadFailedWith410
	player := newPlayer()
	evt := incoming(player, "3EB0GONE", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{DirectPath: proto.String("/img"),
		Mimetype: proto.String("image/jpeg"), Caption: proto.String("receipt")}})
	require.True(t, f.emit(evt))
	got := s.Where(func(m normalize.Message) bool { return m.Address == player })
	require.Len(t, got, 1)
	require.Empty(t, got[0].Attachments)
	require.Contains(t, got[0].Text, "receipt")
	require.Contains(t, got[0].Text, "could not be fetched")
	require.Contains(t, got[0].Text, "410")
}

// TestDeliverFailureLeavesMessageUnacknowledged: the handler's success status is false while
// the store fails (whatsmeow then sends no ack), and true once the message is stored.
func TestDeliverFailureLeavesMessageUnacknowledged(t *testing.T) {
	e, f, s := started(t, nil)
	player := newPlayer()
	s.Fail(errors.New("store down"))
	evt := textFrom(player, "3EB0RETRY", "hello?")
	require.False(t, f.emit(evt), "a message the store did not take must stay unacknowledged")
	e.blobs.fail(errors.New("disk full"))
	s.Fail(nil)
	img := incoming(player, "3EB0IMG", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{DirectPath: proto.String("/x"), Mimetype: proto.String("image/png")}})
	f.media["/x"] = []byte("png")
	require.False(t, f.emit(img), "media the blob store could not keep: retried by WhatsApp's redelivery")
	e.blobs.fail(nil)
	require.True(t, f.emit(evt))
	require.True(t, f.emit(img))
	require.Len(t, s.Where(func(m normalize.Message) bool { return m.Address == player }), 2)
}

// TestIgnoredMessages: echoes, status updates, channels and (unless enabled) groups are
// acknowledged and not stored.
func TestIgnoredMessages(t *testing.T) {
	for _, groups := range []bool{false, true} {
		_, f, s := started(t, func(c *Config) { c.Groups = groups })
		player := newPlayer()
		jid := playerJID(player)
		group := types.NewJID("120363025246125486", types.GroupServer)
		ev := func(src types.MessageSource, id string) *events.Message {
			e := &events.Message{RawMessage: &waE2E.Message{Conversation: proto.String("hi")}, Info: types.MessageInfo{MessageSource: src, ID: id}}
			return e.UnwrapRaw()
		}
		require.True(t, f.emit(ev(types.MessageSource{Chat: jid, Sender: types.NewJID(ownNumber, types.DefaultUserServer), IsFromMe: true}, "echo")))
		require.True(t, f.emit(ev(types.MessageSource{Chat: types.StatusBroadcastJID, Sender: jid}, "status")))
		require.True(t, f.emit(ev(types.MessageSource{Chat: types.NewJID("1203", types.NewsletterServer), Sender: jid}, "news")))
		require.True(t, f.emit(ev(types.MessageSource{Chat: group, Sender: jid, IsGroup: true}, "group")))
		got := s.Messages()
		if !groups {
			require.Empty(t, got)
			continue
		}
		require.Len(t, got, 1)
		require.Equal(t, normalize.Address(group.String()), got[0].Address, "a group is one conversation, answered in the group")
	}
}

// TestLIDSender: a sender named by LID is addressed by the phone number SenderAlt or the
// session's mapping gives; without either the message waits unacknowledged.
func TestLIDSender(t *testing.T) {
	_, f, s := started(t, nil)
	player := newPlayer()
	lid := types.NewJID("123456789012345", types.HiddenUserServer)
	msg := func(id string, alt types.JID) *events.Message {
		e := &events.Message{RawMessage: &waE2E.Message{Conversation: proto.String(id)}, Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: lid, Sender: lid, SenderAlt: alt}, ID: id}}
		return e.UnwrapRaw()
	}
	require.True(t, f.emit(msg("alt", playerJID(player))))
	require.False(t, f.emit(msg("unknown", types.JID{})), "a sender whose number is unknown cannot be answered: WhatsApp delivers it again")
	f.lids[lid] = playerJID(player)
	require.True(t, f.emit(msg("mapped", types.JID{})))
	got := s.Messages()
	require.Len(t, got, 2)
	for _, m := range got {
		require.Equal(t, player, m.Address)
	}
}

// TestHistorySync: a history sync's player messages within history_max_age reach the sink
// oldest first, each once; older ones and the number's own are left out.
func TestHistorySync(t *testing.T) {
	e, f, s := started(t, nil)
	now := time.Now()
	e.ch.now = func() time.Time { return now }
	player := newPlayer()
	web := func(id string, age time.Duration, fromMe bool) *waHistorySync.HistorySyncMsg {
		return &waHistorySync.HistorySyncMsg{Message: &waWeb.WebMessageInfo{
			Key:              &waCommon.MessageKey{ID: proto.String(id), FromMe: proto.Bool(fromMe), RemoteJID: proto.String(playerJID(player).String())},
			Message:          &waE2E.Message{Conversation: proto.String(id)},
			MessageTimestamp: proto.Uint64(uint64(now.Add(-age).Unix())),
		}}
	}
	hs := &events.HistorySync{Data: &waHistorySync.HistorySync{SyncType: waHistorySync.HistorySync_RECENT.Enum(),
		Conversations: []*waHistorySync.Conversation{{ID: proto.String(playerJID(player).String()), Messages: []*waHistorySync.HistorySyncMsg{
			web("third", time.Hour, false), web("mine", 90*time.Minute, true), web("second", 2*time.Hour, false),
			web("first", 3*time.Hour, false), web("too-old", 48*time.Hour, false), web("second", 2*time.Hour, false),
		}}}}}
	require.True(t, f.emit(hs))
	var texts []string
	for _, m := range s.Messages() {
		texts = append(texts, m.Text)
	}
	require.Equal(t, []string{"first", "second", "third"}, texts)
}

// TestSend: text, a reply that quotes the player's message, an image and a document, under
// IDs derived from the gateway's message ID; the player's messages are marked read after.
func TestSend(t *testing.T) {
	e, f, s := started(t, nil)
	player := newPlayer()
	require.True(t, f.emit(textFrom(player, "3EB0ASK", "where is my payout?")))
	conv := normalize.Conversation{ID: "c1", Channel: "wa", Address: player}
	ctx := context.Background()

	png, err := e.blobs.Put(ctx, strings.NewReader("\x89PNG"), "proof.png", "image/png")
	require.NoError(t, err)
	pdf, err := e.blobs.Put(ctx, strings.NewReader("%PDF"), "terms.pdf", "application/pdf")
	require.NoError(t, err)
	msg := normalize.Message{ID: "m-reply", Text: "It is on its way.", ReplyTo: "3EB0ASK", Attachments: []normalize.Attachment{png, pdf}}
	id, err := e.ch.Send(ctx, conv, msg)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID(SendID("m-reply", 2)), id)

	sent := f.sentMessages()
	require.Len(t, sent, 3)
	for i, m := range sent {
		require.Equal(t, playerJID(player), m.to)
		require.Equal(t, SendID("m-reply", i), m.id)
		require.Regexp(t, `^3EB0[0-9A-F]{18}$`, m.id, "the shape of WhatsApp's own IDs")
	}
	ext := sent[0].msg.GetExtendedTextMessage()
	require.Equal(t, "It is on its way.", ext.GetText())
	require.Equal(t, "3EB0ASK", ext.GetContextInfo().GetStanzaID())
	require.Equal(t, playerJID(player).String(), ext.GetContextInfo().GetParticipant())
	require.Equal(t, "where is my payout?", ext.GetContextInfo().GetQuotedMessage().GetConversation())
	require.NotNil(t, sent[1].msg.GetImageMessage())
	require.Equal(t, "terms.pdf", sent[2].msg.GetDocumentMessage().GetFileName())
	require.Equal(t, []whatsmeow.MediaType{whatsmeow.MediaImage, whatsmeow.MediaDocument}, f.uploads)
	require.Len(t, f.marked, 1, "the player's message is marked read after the reply")
	require.Equal(t, []types.MessageID{"3EB0ASK"}, f.marked[0].ids)

	// Receipts of the parts lead back to the gateway's message.
	require.True(t, f.emit(&events.Receipt{MessageSource: types.MessageSource{Chat: playerJID(player), Sender: playerJID(player)},
		MessageIDs: []types.MessageID{types.MessageID(SendID("m-reply", 0))}, Type: types.ReceiptTypeDelivered}))
	require.Equal(t, normalize.StateDelivered, s.receipts["m-reply"])
	require.True(t, f.emit(&events.Receipt{MessageSource: types.MessageSource{Chat: playerJID(player), Sender: playerJID(player)},
		MessageIDs: []types.MessageID{types.MessageID(SendID("m-reply", 2)), "3EB0FROMTHEPHONE"}, Type: types.ReceiptTypeRead}))
	require.Equal(t, normalize.StateRead, s.receipts["m-reply"])

	// Typing is a chat presence.
	require.NoError(t, e.ch.Typing(ctx, conv))
	require.Equal(t, []types.JID{playerJID(player)}, f.presences)
}

// TestSendRetryReusesIDs: a part that failed is sent again under the same ID, and the parts
// before it are not sent again.
func TestSendRetryReusesIDs(t *testing.T) {
	e, f, _ := started(t, nil)
	player := newPlayer()
	require.True(t, f.emit(textFrom(player, "3EB0HI", "hi")))
	ctx := context.Background()
	doc, err := e.blobs.Put(ctx, strings.NewReader("%PDF"), "a.pdf", "application/pdf")
	require.NoError(t, err)
	conv := normalize.Conversation{ID: "c1", Address: player}
	msg := normalize.Message{ID: "m-two-parts", Text: "see attached", Attachments: []normalize.Attachment{doc}}

	// The text goes, the attachment times out.
	e.ch.setClient(&countingClient{fakeClient: f, fail: &failNth{n: 2, err: whatsmeow.ErrMessageTimedOut}})
	_, err = e.ch.Send(ctx, conv, msg)
	require.Error(t, err)
	require.False(t, connectors.IsPermanent(err), "a timeout is retried")
	e.ch.setClient(f)
	id, err := e.ch.Send(ctx, conv, msg)
	require.NoError(t, err)
	require.Equal(t, normalize.ExternalID(SendID("m-two-parts", 1)), id)
	sent := f.sentMessages()
	require.Len(t, sent, 2, "the text once, the attachment once after its retry")
	require.Equal(t, SendID("m-two-parts", 0), sent[0].id)
	require.Equal(t, SendID("m-two-parts", 1), sent[1].id)
	require.NotEqual(t, SendID("m-two-parts", 0), SendID("m-other", 0))
}

// failNth fails the n-th SendMessage call.
type failNth struct {
	mu    sync.Mutex
	calls int
	n     int
	err   error
}

// countingClient is the fake with SendMessage failing as failNth says.
type countingClient struct {
	*fakeClient
	fail *failNth
}

func (c *countingClient) SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	c.fail.mu.Lock()
	c.fail.calls++
	fail := c.fail.calls == c.fail.n
	c.fail.mu.Unlock()
	if fail {
		return whatsmeow.SendResponse{}, c.fail.err
	}
	return c.fakeClient.SendMessage(ctx, to, msg, extra)
}

// TestSendRefusesFirstContact: the channel never writes first.
func TestSendRefusesFirstContact(t *testing.T) {
	e, f, _ := started(t, nil)
	stranger := newPlayer()
	_, err := e.ch.Send(context.Background(), normalize.Conversation{ID: "c9", Address: stranger}, normalize.Message{ID: "m1", Text: "Hi!"})
	require.Error(t, err)
	require.True(t, connectors.IsPermanent(err))
	require.ErrorIs(t, err, errNeverWrote)
	require.Empty(t, f.sentMessages())
}

// TestSendErrors: whatsmeow's failures map to the router's classes.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want conformance.ErrorClass
	}{
		{"not connected", whatsmeow.ErrNotConnected, conformance.Retryable},
		{"timed out", whatsmeow.ErrMessageTimedOut, conformance.Retryable},
		{"server 500", errors.Join(whatsmeow.ErrServerReturnedError, errors.New("server returned error 500")), conformance.Retryable},
		{"server 479", errors.New("x"), conformance.Permanent}, // replaced below
		{"rate limited", nil, conformance.RetryLater},
		{"logged out", whatsmeow.ErrNotLoggedIn, conformance.Unauthorized},
		{"device JID", whatsmeow.ErrRecipientADJID, conformance.Permanent},
	}
	tests[3].err = wrapServer(479)
	tests[4].err = wrapServer(429)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, f, _ := started(t, nil)
			player := newPlayer()
			require.True(t, f.emit(textFrom(player, "3EB0Q", "q")))
			f.mu.Lock()
			f.sendErrs = []error{tt.err}
			f.mu.Unlock()
			_, err := e.ch.Send(context.Background(), normalize.Conversation{ID: "c", Address: player}, normalize.Message{ID: "m", Text: "a"})
			require.Error(t, err)
			switch tt.want {
			case conformance.Retryable:
				require.False(t, connectors.IsPermanent(err), "%v", err)
				require.False(t, connectors.IsUnauthorized(err), "%v", err)
			case conformance.Permanent:
				require.True(t, connectors.IsPermanent(err), "%v", err)
			case conformance.Unauthorized:
				require.True(t, connectors.IsUnauthorized(err), "%v", err)
				require.False(t, connectors.IsPermanent(err))
			case conformance.RetryLater:
				wait, ok := connectors.RetryDelay(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, time.Minute, wait)
			}
		})
	}
}

// wrapServer is SendMessage's error for a refusal code from WhatsApp's server.
func wrapServer(code int) error {
	return errors.Join(whatsmeow.ErrServerReturnedError, fmt.Errorf("server returned error %d", code))
}

// TestStateEvents: WhatsApp's ends of a connection set the instance's state, health, metric
// and reconnect; a ban makes sends wait until it ends.
func TestStateEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, true, nil)
	state, err := newStateKeeper("wa", e.ch.log, reg)
	require.NoError(t, err)
	e.ch.state = state
	s := newSink()
	e.run(t, s)
	f := e.client(t, 0)
	e.waitState(t, StateConnected)
	require.NoError(t, s.lastHealth())
	require.Equal(t, "+"+ownNumber, e.ch.Status().Account)
	gauge := func(st State) float64 {
		families, err := reg.Gather()
		require.NoError(t, err)
		for _, fam := range families {
			for _, m := range fam.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if fam.GetName() == "gateway_whatsapp_state" && labels["channel"] == "wa" && labels["state"] == string(st) {
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no gateway_whatsapp_state series for %s", st)
		return 0
	}
	require.Equal(t, 1.0, gauge(StateConnected))

	f.emit(&events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: 2 * time.Second})
	st := e.waitState(t, StateBanned)
	require.Contains(t, st.Detail, "temporary ban code 101")
	require.Contains(t, st.Detail, "until ")
	require.Error(t, s.lastHealth())
	require.Equal(t, 1.0, gauge(StateBanned))
	require.Equal(t, 0.0, gauge(StateConnected))
	player := newPlayer()
	require.NoError(t, e.ch.ledger.wrote(context.Background(), player))
	_, err = e.ch.Send(context.Background(), normalize.Conversation{Address: player}, normalize.Message{ID: "m", Text: "x"})
	wait, ok := connectors.RetryDelay(err)
	require.True(t, ok, "a send during a ban waits for its end: %v", err)
	require.Positive(t, wait)
	require.LessOrEqual(t, wait, 2*time.Second)

	for _, tt := range []struct {
		evt    any
		state  State
		detail string
	}{
		{&events.StreamReplaced{}, StateReplaced, "another process connected with this instance's session"},
		{&events.ConnectFailure{Reason: events.ConnectFailureGeneric, Message: "bad"}, StateFailed, "code 400"},
		{&events.ClientOutdated{}, StateFailed, "outdated"},
	} {
		e.waitState(t, StateConnected) // reconnected after the wait whatsmeow would not take
		connects := f.connects
		f.emit(tt.evt)
		require.Contains(t, e.waitState(t, tt.state).Detail, tt.detail)
		require.Eventually(t, func() bool { return f.IsConnected() && f.connects > connects }, 5*time.Second, time.Millisecond,
			"the channel reconnects after %T", tt.evt)
	}

	e.waitState(t, StateConnected)
	f.emit(&events.LoggedOut{Reason: events.ConnectFailureLoggedOut})
	// Logged out: the session starts over unpaired and shows QR codes again.
	next := e.client(t, 1)
	next.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@abc", Timeout: time.Minute}
	require.Eventually(t, func() bool { return e.ch.Status().QRCode == "2@abc" }, 5*time.Second, time.Millisecond)
	require.ErrorIs(t, s.lastHealth(), connectors.ErrUnauthorized)
	require.Contains(t, s.lastHealth().Error(), "gateway whatsapp pair --instance wa")
}

// TestPairingStateMachine: unpaired → pairing (QR codes) → paired → connected, and a round
// nobody scanned → unpaired, then a new round.
func TestPairingStateMachine(t *testing.T) {
	e := newEnv(t, false, nil)
	s := newSink()
	e.run(t, s)
	f := e.client(t, 0)
	f.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@first", Timeout: 60 * time.Second}
	require.Eventually(t, func() bool { return e.ch.Status().QRCode == "2@first" }, 5*time.Second, time.Millisecond)
	st := e.ch.Status()
	require.Equal(t, StatePairing, st.State)
	require.False(t, st.QRExpires.IsZero())
	f.qr <- whatsmeow.QRChannelTimeout
	require.Contains(t, e.waitState(t, StateUnpaired).Detail, "a new QR code follows")
	require.Empty(t, e.ch.Status().QRCode)

	second := e.client(t, 1) // the next round, on a fresh client of the unpaired session
	second.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@second", Timeout: 20 * time.Second}
	require.Eventually(t, func() bool { return e.ch.Status().QRCode == "2@second" }, 5*time.Second, time.Millisecond)
	second.link()
	st = e.waitState(t, StateConnected)
	require.Equal(t, "+"+ownNumber, st.Account)
	require.NoError(t, s.lastHealth())
}

// TestPairClient: the terminal's pairing shows the QR code and the pairing code for --phone,
// and ends once the phone linked the device and it connected.
func TestPairClient(t *testing.T) {
	f := newFakeClient(false)
	defer f.close()
	var shown []PairProgress
	done := make(chan error, 1)
	var account string
	go func() {
		var err error
		account, err = pairClient(context.Background(), f, "4915112345678", func(p PairProgress) { shown = append(shown, p) })
		done <- err
	}()
	f.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@code", Timeout: time.Minute}
	require.Eventually(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.pairPhone != "" }, 5*time.Second, time.Millisecond)
	f.link()
	require.NoError(t, <-done)
	require.Equal(t, "+"+ownNumber, account)
	require.Equal(t, []PairProgress{{QRCode: "2@code", Expires: time.Minute, PairCode: "ABCD-EFGH"}}, shown)
	require.False(t, f.IsConnected(), "the command lets go of the session when done")

	_, err := pairClient(context.Background(), f, "", func(PairProgress) {})
	require.ErrorIs(t, err, ErrAlreadyPaired)
}

// TestSession: the session database is created private, upgraded by whatsmeow on modernc's
// SQLite (foreign keys on), held by one process at a time, and starts unpaired.
func TestSession(t *testing.T) {
	path := t.TempDir() + "/sub/wa.db"
	ctx := context.Background()
	s, err := OpenSession(ctx, path, nil)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	var fk int
	require.NoError(t, s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
	require.Equal(t, 1, fk)
	var version int
	require.NoError(t, s.db.QueryRowContext(ctx, "SELECT version FROM whatsmeow_version").Scan(&version))
	require.Positive(t, version)

	_, err = OpenSession(ctx, path, nil)
	require.ErrorIs(t, err, ErrSessionInUse)

	cli, err := s.NewClient(ctx)
	require.NoError(t, err)
	require.False(t, cli.Paired())
	require.NoError(t, s.ledger.wrote(ctx, "+4915112345678"))
	require.NoError(t, s.Close())

	s, err = OpenSession(ctx, path, nil) // again: the upgrade is idempotent, the ledger kept
	require.NoError(t, err)
	defer s.Close()
	ok, err := s.ledger.hasWritten(ctx, "+4915112345678")
	require.NoError(t, err)
	require.True(t, ok)
}

// TestConfig: the defaults are valid once data_dir names the database, and bad values are
// named by key.
func TestConfig(t *testing.T) {
	c := DefaultConfig()
	c.Derive(settingsEnv("wa-main", "/var/lib/gateway"))
	require.Equal(t, "/var/lib/gateway/whatsapp/wa-main.db", c.Database)
	require.Empty(t, validate(c))
	c.ChatInterval, c.SendInterval, c.SendBurst, c.HistoryMaxAge = 0, -1, 0, -time.Hour
	require.ElementsMatch(t, []string{"chat_interval", "send_interval", "send_burst", "history_max_age"}, validate(c))
}

func settingsEnv(name, dataDir string) settings.Env {
	return settings.Env{Name: name, DataDir: dataDir}
}

// validate returns the keys Validate names.
func validate(c *Config) []string {
	p := settings.NewProblems("")
	c.Validate(p)
	var keys []string
	for _, pr := range p.List() {
		keys = append(keys, pr.Key)
	}
	return keys
}

// FuzzVCardPhones: a contact card comes from the player's phone unchecked; reading it never
// panics and yields only trimmed, non-empty numbers, at most 20.
func FuzzVCardPhones(f *testing.F) {
	f.Add("BEGIN:VCARD\nVERSION:3.0\nFN:Bruno\nitem1.TEL;waid=4915112345678:+49 151 12345678\nEND:VCARD")
	f.Add("TEL:+1\r\n 234\r\nTEL;TYPE=CELL:tel:+351 912\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, card string) {
		phones := vcardPhones(card)
		require.LessOrEqual(t, len(phones), 20)
		for _, p := range phones {
			require.NotEmpty(t, p)
			require.Equal(t, strings.TrimSpace(p), p)
		}
	})
}

// TestPairPhone: an admin page asks for a pairing code by phone number, before the round's
// first QR code (asked once it came) and in the middle of a round (asked at once); a number
// that is no E.164 one, and an instance with a linked phone, are refused.
func TestPairPhone(t *testing.T) {
	e := newEnv(t, false, nil)
	e.run(t, newSink())
	require.Error(t, e.ch.PairPhone("0151 not a number"))

	f := e.client(t, 0)
	require.NoError(t, e.ch.PairPhone("+49 151 1234-5678"), "spaces and dashes are how people write numbers")
	f.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@first", Timeout: time.Minute}
	require.Eventually(t, func() bool { return e.ch.Status().PairCode == "ABCD-EFGH" }, 5*time.Second, time.Millisecond)
	st := e.ch.Status()
	require.Equal(t, "2@first", st.QRCode)
	require.Contains(t, st.Detail, "type the pairing code ABCD-EFGH")
	f.mu.Lock()
	require.Equal(t, "4915112345678", f.pairPhone)
	f.mu.Unlock()

	f.qr <- whatsmeow.QRChannelTimeout
	second := e.client(t, 1)
	second.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@second", Timeout: time.Minute}
	require.Eventually(t, func() bool { return e.ch.Status().QRCode == "2@second" }, 5*time.Second, time.Millisecond)
	require.Empty(t, e.ch.Status().PairCode, "a pairing code holds for its round only")
	require.NoError(t, e.ch.PairPhone("+4930901820"))
	require.Eventually(t, func() bool { return e.ch.Status().PairCode == "ABCD-EFGH" }, 5*time.Second, time.Millisecond)
	require.Equal(t, "2@second", e.ch.Status().QRCode, "the round goes on with its QR code")
	second.mu.Lock()
	require.Equal(t, "4930901820", second.pairPhone)
	second.mu.Unlock()

	second.link()
	st = e.waitState(t, StateConnected)
	require.Empty(t, st.PairCode)
	require.Empty(t, st.QRCode)
	require.ErrorIs(t, e.ch.PairPhone("+4930901820"), ErrAlreadyPaired)
}
