package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
)

// fakeClient stands in for whatsmeow's client: it dispatches the events a test gives it to the
// registered handlers as whatsmeow does (stopping at the first that fails), keeps a message
// no handler acknowledged and delivers it again while connected, as WhatsApp does, and
// records what the channel sends.
type fakeClient struct {
	mu        sync.Mutex
	handlers  []func(any) bool
	paired    bool
	own       types.JID
	connected bool
	connects  int
	// connectErrs are returned by the next Connect calls, one each.
	connectErrs []error
	qr          chan whatsmeow.QRChannelItem
	pairPhone   string

	pending  map[string]*events.Message // delivered, not acknowledged
	inflight map[string]bool            // being handled: WhatsApp waits for the ack before sending again
	acked    map[string]bool

	sent       []sentMessage
	sendErrs   []error // returned by the next SendMessage calls, one each
	uploads    []whatsmeow.MediaType
	media      map[string][]byte // direct path -> content
	mediaErr   error
	marked     []markedRead
	presences  []types.JID
	lids       map[types.JID]types.JID
	stopPump   chan struct{}
	pumpClosed bool
}

type sentMessage struct {
	to  types.JID
	id  string
	msg *waE2E.Message
}

type markedRead struct {
	ids          []types.MessageID
	chat, sender types.JID
}

const ownNumber = "4930901820"

func newFakeClient(paired bool) *fakeClient {
	f := &fakeClient{paired: paired, pending: map[string]*events.Message{}, inflight: map[string]bool{}, acked: map[string]bool{},
		media: map[string][]byte{}, lids: map[types.JID]types.JID{}, qr: make(chan whatsmeow.QRChannelItem, 8),
		stopPump: make(chan struct{})}
	if paired {
		f.own = types.NewJID(ownNumber, types.DefaultUserServer)
	}
	go f.pump()
	return f
}

// close stops the redelivery.
func (f *fakeClient) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.pumpClosed {
		f.pumpClosed = true
		close(f.stopPump)
	}
}

// pump delivers unacknowledged messages again every 20 ms while connected.
func (f *fakeClient) pump() {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.stopPump:
			return
		case <-t.C:
		}
		f.mu.Lock()
		var again []*events.Message
		if f.connected {
			for _, m := range f.pending {
				again = append(again, m)
			}
		}
		f.mu.Unlock()
		for _, m := range again {
			f.deliver(m)
		}
	}
}

// emit dispatches evt to the handlers and returns their success status.
func (f *fakeClient) emit(evt any) bool {
	f.mu.Lock()
	hs := append([]func(any) bool(nil), f.handlers...)
	f.mu.Unlock()
	for _, h := range hs {
		if !h(evt) {
			return false
		}
	}
	return true
}

// playerSends has WhatsApp hand m to the device: now, and again until it is acknowledged.
func (f *fakeClient) playerSends(m *events.Message) {
	f.mu.Lock()
	if !f.acked[m.Info.ID] {
		f.pending[m.Info.ID] = m
	}
	f.mu.Unlock()
	f.deliver(m)
}

func (f *fakeClient) deliver(m *events.Message) {
	f.mu.Lock()
	ready := f.connected && len(f.handlers) > 0 && !f.inflight[m.Info.ID] && !f.acked[m.Info.ID]
	if ready {
		f.inflight[m.Info.ID] = true
	}
	f.mu.Unlock()
	if !ready {
		return
	}
	ok := f.emit(m)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.inflight, m.Info.ID)
	if ok {
		f.acked[m.Info.ID] = true
		delete(f.pending, m.Info.ID)
	}
}

func (f *fakeClient) isAcked(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked[id]
}

func (f *fakeClient) sentMessages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func (f *fakeClient) AddEventHandler(h func(any) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers = append(f.handlers, h)
}

func (f *fakeClient) Paired() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paired
}

func (f *fakeClient) OwnID() types.JID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.own
}

// Connect connects; a paired client then reports Connected, as whatsmeow does once logged in.
func (f *fakeClient) Connect(context.Context) error {
	f.mu.Lock()
	f.connects++
	if len(f.connectErrs) > 0 {
		err := f.connectErrs[0]
		f.connectErrs = f.connectErrs[1:]
		f.mu.Unlock()
		return err
	}
	if f.connected {
		f.mu.Unlock()
		return whatsmeow.ErrAlreadyConnected
	}
	f.connected = true
	paired := f.paired
	f.mu.Unlock()
	if paired {
		go f.emit(&events.Connected{})
	}
	return nil
}

func (f *fakeClient) Disconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected = false
}

func (f *fakeClient) IsConnected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

func (f *fakeClient) IsLoggedIn() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected && f.paired
}

func (f *fakeClient) GetQRChannel(context.Context) (<-chan whatsmeow.QRChannelItem, error) {
	if f.Paired() {
		return nil, whatsmeow.ErrQRStoreContainsID
	}
	return f.qr, nil
}

// link is the phone scanning the QR code: the session is paired, and WhatsApp reconnects the
// new device, which then reports Connected.
func (f *fakeClient) link() {
	f.mu.Lock()
	f.paired = true
	f.own = types.NewJID(ownNumber, types.DefaultUserServer)
	f.mu.Unlock()
	f.qr <- whatsmeow.QRChannelSuccess
	go f.emit(&events.Connected{})
}

func (f *fakeClient) PairPhone(_ context.Context, phone string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pairPhone = phone
	return "ABCD-EFGH", nil
}

func (f *fakeClient) Logout(context.Context) error { return nil }

func (f *fakeClient) SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sendErrs) > 0 {
		err := f.sendErrs[0]
		f.sendErrs = f.sendErrs[1:]
		return whatsmeow.SendResponse{}, err
	}
	if !f.connected || !f.paired {
		return whatsmeow.SendResponse{}, whatsmeow.ErrNotConnected
	}
	f.sent = append(f.sent, sentMessage{to: to, id: string(extra.ID), msg: msg})
	return whatsmeow.SendResponse{ID: extra.ID, Timestamp: time.Now()}, ctx.Err()
}

func (f *fakeClient) Upload(_ context.Context, data []byte, kind whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads = append(f.uploads, kind)
	path := fmt.Sprintf("/v/t62/%d", len(f.uploads))
	f.media[path] = bytes.Clone(data)
	return whatsmeow.UploadResponse{URL: "https://mmg.whatsapp.net" + path, DirectPath: path, MediaKey: []byte("key"),
		FileLength: uint64(len(data))}, nil
}

func (f *fakeClient) Download(_ context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mediaErr != nil {
		return nil, f.mediaErr
	}
	data, ok := f.media[msg.GetDirectPath()]
	if !ok {
		return nil, whatsmeow.ErrMediaDownloadFailedWith404
	}
	return data, nil
}

func (f *fakeClient) MarkRead(_ context.Context, ids []types.MessageID, _ time.Time, chat, sender types.JID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.marked = append(f.marked, markedRead{ids: ids, chat: chat, sender: sender})
	return nil
}

func (f *fakeClient) SendChatPresence(_ context.Context, jid types.JID, _ types.ChatPresence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presences = append(f.presences, jid)
	return nil
}

// ParseWebMessage is whatsmeow's for a one-to-one chat: the sender is the chat.
func (f *fakeClient) ParseWebMessage(chat types.JID, web *waWeb.WebMessageInfo) (*events.Message, error) {
	if web.GetKey().GetID() == "" {
		return nil, errors.New("no ID")
	}
	evt := &events.Message{RawMessage: web.GetMessage(), Info: types.MessageInfo{
		MessageSource: types.MessageSource{Chat: chat, Sender: chat, IsFromMe: web.GetKey().GetFromMe()},
		ID:            web.GetKey().GetID(), PushName: web.GetPushName(),
		Timestamp: time.Unix(int64(web.GetMessageTimestamp()), 0),
	}}
	return evt.UnwrapRaw(), nil
}

func (f *fakeClient) PhoneOf(_ context.Context, lid types.JID) (types.JID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lids[lid], nil
}

var _ Client = (*fakeClient)(nil)

// testBlobs is the gateway's blob store in a temporary directory, made to fail when err is set.
type testBlobs struct {
	connectors.Blobs
	mu  sync.Mutex
	err error
}

func newTestBlobs(t *testing.T) *testBlobs {
	store, err := blobs.New(t.TempDir(), 25<<20)
	require.NoError(t, err)
	return &testBlobs{Blobs: store}
}

func (b *testBlobs) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

func (b *testBlobs) Put(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return normalize.Attachment{}, err
	}
	return b.Blobs.Put(ctx, r, name, mediaType)
}

// env is a channel on a fake client, with a real session database in a temporary directory.
type env struct {
	ch      *Channel
	blobs   *testBlobs
	session *Session
	// clients are the fakes newClient handed out, in order; the first is made by newEnv.
	mu      sync.Mutex
	clients []*fakeClient
	next    func() *fakeClient
}

func newEnv(t *testing.T, paired bool, mutate func(*Config)) *env {
	t.Helper()
	cfg := *DefaultConfig()
	cfg.Database = t.TempDir() + "/wa.db"
	cfg.ChatInterval, cfg.SendInterval, cfg.SendBurst = time.Millisecond, time.Millisecond, 20
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := OpenSession(context.Background(), cfg.Database, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	e := &env{blobs: newTestBlobs(t), session: s}
	first := true
	e.next = func() *fakeClient {
		f := newFakeClient(paired && first)
		first = false
		return f
	}
	newClient := func(context.Context) (Client, error) {
		f := e.next()
		e.mu.Lock()
		e.clients = append(e.clients, f)
		e.mu.Unlock()
		t.Cleanup(f.close)
		return f, nil
	}
	ch, err := newChannel("wa", cfg, Deps{Blobs: e.blobs}, newClient, s.ledger)
	require.NoError(t, err)
	ch.waits = waits{backoff: 5 * time.Millisecond, maxBack: 50 * time.Millisecond, replaced: 30 * time.Millisecond,
		failure: 30 * time.Millisecond, outdated: 30 * time.Millisecond, pairIdle: 10 * time.Millisecond}
	ch.conv.Backoff = time.Millisecond
	e.ch = ch
	return e
}

// client returns the i-th client the channel made, waiting for it.
func (e *env) client(t *testing.T, i int) *fakeClient {
	t.Helper()
	var f *fakeClient
	require.Eventually(t, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		if len(e.clients) > i {
			f = e.clients[i]
			return true
		}
		return false
	}, 5*time.Second, time.Millisecond, "the channel never made client %d", i)
	return f
}

// run starts Run and stops it at cleanup, checking that it returned nil.
func (e *env) run(t *testing.T, sink connectors.Sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ch.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// waitState waits until the channel's state is s.
func (e *env) waitState(t *testing.T, s State) Status {
	t.Helper()
	require.Eventually(t, func() bool { return e.ch.Status().State == s }, 5*time.Second, time.Millisecond,
		"want state %s", s)
	return e.ch.Status()
}
