package whatsapp

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// Client is what the channel uses of a whatsmeow client: few enough methods that tests put a
// fake behind them, since WhatsApp's websocket has no test server. waClient is the real one.
type Client interface {
	// AddEventHandler registers h for every event. With SynchronousAck (which the real
	// client sets), a message is acknowledged to WhatsApp only after h returned true; false
	// leaves it unacknowledged, and WhatsApp delivers it again.
	AddEventHandler(h func(evt any) bool)
	// Paired reports whether the session holds a linked device (false: pair first).
	Paired() bool
	// OwnID is the linked number's JID; empty while unpaired.
	OwnID() types.JID
	Connect(ctx context.Context) error
	Disconnect()
	IsConnected() bool
	IsLoggedIn() bool
	// GetQRChannel must be called before Connect on an unpaired session; it yields QR codes
	// until the phone scans one, then success (or timeout, or an error event).
	GetQRChannel(ctx context.Context) (<-chan whatsmeow.QRChannelItem, error)
	// PairPhone asks WhatsApp for a pairing code for phone (digits, international), for
	// linking without a camera; call it after Connect and the first QR event.
	PairPhone(ctx context.Context, phone string) (string, error)
	Logout(ctx context.Context) error

	SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, data []byte, kind whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)
	MarkRead(ctx context.Context, ids []types.MessageID, at time.Time, chat, sender types.JID) error
	SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence) error
	// ParseWebMessage turns a history-sync message into the event a live one would be.
	ParseWebMessage(chat types.JID, msg *waWeb.WebMessageInfo) (*events.Message, error)
	// PhoneOf returns the phone-number JID of a LID (WhatsApp's hidden user IDs), from the
	// mappings the session learned; an empty JID when it knows none.
	PhoneOf(ctx context.Context, lid types.JID) (types.JID, error)
}

// pairDisplayName is how the linked device shows in the phone's list of linked devices when
// paired by code; WhatsApp accepts only "Browser (OS)" names of common browsers.
const pairDisplayName = "Chrome (Linux)"

// waClient is Client on a real *whatsmeow.Client.
type waClient struct {
	cli *whatsmeow.Client
}

var _ Client = waClient{}

// newWAClient returns a client of the session's device. SynchronousAck makes WhatsApp's ack
// of a message wait for the handlers, which is what lets a failed Deliver leave it
// unacknowledged. The channel reconnects itself after a failed first connect (with its own
// back-off and health reports), so whatsmeow's initial auto-reconnect stays off; its
// reconnect after a dropped connection stays on.
func newWAClient(device *store.Device, log waLog.Logger) waClient {
	cli := whatsmeow.NewClient(device, log)
	cli.SynchronousAck = true
	cli.EnableAutoReconnect = true
	cli.InitialAutoReconnect = false
	return waClient{cli: cli}
}

func (w waClient) AddEventHandler(h func(evt any) bool) { w.cli.AddEventHandlerWithSuccessStatus(h) }
func (w waClient) Paired() bool                         { return w.cli.Store.ID != nil }

func (w waClient) OwnID() types.JID {
	if w.cli.Store.ID == nil {
		return types.JID{}
	}
	return w.cli.Store.ID.ToNonAD()
}

func (w waClient) Connect(ctx context.Context) error { return w.cli.ConnectContext(ctx) }
func (w waClient) Disconnect()                       { w.cli.Disconnect() }
func (w waClient) IsConnected() bool                 { return w.cli.IsConnected() }
func (w waClient) IsLoggedIn() bool                  { return w.cli.IsLoggedIn() }

func (w waClient) GetQRChannel(ctx context.Context) (<-chan whatsmeow.QRChannelItem, error) {
	return w.cli.GetQRChannel(ctx)
}

func (w waClient) PairPhone(ctx context.Context, phone string) (string, error) {
	return w.cli.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, pairDisplayName)
}

func (w waClient) Logout(ctx context.Context) error { return w.cli.Logout(ctx) }

func (w waClient) SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	return w.cli.SendMessage(ctx, to, msg, extra)
}

func (w waClient) Upload(ctx context.Context, data []byte, kind whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	return w.cli.Upload(ctx, data, kind)
}

func (w waClient) Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error) {
	return w.cli.Download(ctx, msg)
}

func (w waClient) MarkRead(ctx context.Context, ids []types.MessageID, at time.Time, chat, sender types.JID) error {
	return w.cli.MarkRead(ctx, ids, at, chat, sender)
}

func (w waClient) SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence) error {
	return w.cli.SendChatPresence(ctx, jid, state, types.ChatPresenceMediaText)
}

func (w waClient) ParseWebMessage(chat types.JID, msg *waWeb.WebMessageInfo) (*events.Message, error) {
	return w.cli.ParseWebMessage(chat, msg)
}

func (w waClient) PhoneOf(ctx context.Context, lid types.JID) (types.JID, error) {
	pn, err := w.cli.Store.LIDs.GetPNForLID(ctx, lid)
	if err != nil {
		return types.JID{}, fmt.Errorf("phone number of %s: %w", lid, err)
	}
	return pn, nil
}

// slogLogger passes whatsmeow's log lines to slog, at one level lower than whatsmeow gives
// them: it calls routine reconnects and undecryptable status updates errors.
type slogLogger struct {
	log *slog.Logger
}

func newWALog(log *slog.Logger) waLog.Logger { return slogLogger{log: log} }

func (l slogLogger) Errorf(msg string, args ...any) {
	l.log.Warn("whatsmeow: " + fmt.Sprintf(msg, args...))
}
func (l slogLogger) Warnf(msg string, args ...any) {
	l.log.Info("whatsmeow: " + fmt.Sprintf(msg, args...))
}
func (l slogLogger) Infof(msg string, args ...any) {
	l.log.Debug("whatsmeow: " + fmt.Sprintf(msg, args...))
}
func (l slogLogger) Debugf(string, ...any) {} // wire-level detail, including message content
func (l slogLogger) Sub(module string) waLog.Logger {
	return slogLogger{log: l.log.With("module", module)}
}
