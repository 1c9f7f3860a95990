package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// errNeverWrote is why a reply to a number that never wrote to the instance is refused:
// WhatsApp bans numbers that message people who did not write first (ban code 101).
var errNeverWrote = errors.New("this number has never written to the instance; the gateway does not write first on WhatsApp, " +
	"which bans numbers for messaging people who did not (code 101)")

// imageTypes are the images WhatsApp shows inline; other files go as documents, unchanged.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true}

// SendID is the WhatsApp message ID of part (0 for the first) of the gateway's message id:
// "3EB0" and 18 upper-case hex digits of a hash, the shape of the IDs WhatsApp's own web
// client makes. A retried Send uses the same IDs, so the player's phone, which keeps one
// message per ID, shows a repeated part once; and a receipt's ID leads back to the message.
func SendID(id normalize.MessageID, part int) string {
	sum := sha256.Sum256([]byte("gateway-whatsapp\x00" + string(id) + "\x00" + strconv.Itoa(part)))
	return whatsmeow.WebMessageIDPrefix + strings.ToUpper(hex.EncodeToString(sum[:9]))
}

// part is one WhatsApp message of a reply: its text, or one attachment.
type part struct {
	text string
	att  *normalize.Attachment
}

// Send delivers an agent's reply: the text, then each attachment (images inline, other files
// as documents), the first part quoting the player's message it answers. It returns the
// WhatsApp ID of the last part. A part that failed is sent again on the router's retry under
// the same ID; parts sent before it are not sent again.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	to, err := jidOf(conv.Address)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("whatsapp %s: %w", c.name, err))
	}
	wrote, err := c.ledger.hasWritten(ctx, conv.Address)
	if err != nil {
		return "", fmt.Errorf("whatsapp %s: send to %s: %w", c.name, conv.Address, err)
	}
	if !wrote {
		return "", connectors.Permanent(fmt.Errorf("whatsapp %s: send to %s refused: %w", c.name, conv.Address, errNeverWrote))
	}
	var parts []part
	if strings.TrimSpace(msg.Text) != "" {
		parts = append(parts, part{text: msg.Text})
	}
	for i := range msg.Attachments {
		parts = append(parts, part{att: &msg.Attachments[i]})
	}
	if len(parts) == 0 {
		return "", connectors.Permanent(fmt.Errorf("whatsapp %s: send to %s: the message has neither text nor attachments", c.name, conv.Address))
	}
	cli, err := c.connected(ctx, conv.Address)
	if err != nil {
		return "", err
	}
	quote := c.quote(msg.ReplyTo)
	var last string
	for i := c.sent.done(msg.ID); i < len(parts); i++ {
		id := SendID(msg.ID, i)
		var ctxInfo *waE2E.ContextInfo
		if i == 0 {
			ctxInfo = quote
		}
		if err := c.sendPart(ctx, cli, to, conv.Address, id, msg.ID, parts[i], ctxInfo); err != nil {
			c.sent.set(msg.ID, i)
			return "", err
		}
		last = id
	}
	if last == "" { // every part went before a restart of this Send: the last part's ID stands
		last = SendID(msg.ID, len(parts)-1)
	}
	c.sent.forget(msg.ID)
	c.log.Debug("whatsapp: sent", "conv", conv.ID, "msg_id", msg.ID, "parts", len(parts))
	if c.cfg.MarkRead {
		c.markRead(ctx, cli, conv.Address)
	}
	return normalize.ExternalID(last), nil
}

// connectWait is how long Send waits for a connection being set up (the gateway just
// started, or whatsmeow is reconnecting) before it reports the channel not connected.
const connectWait = 10 * time.Second

// connected returns the client once it is logged in; otherwise an error that says why, for
// the router to retry: after a ban's end, or with back-off.
func (c *Channel) connected(ctx context.Context, address normalize.Address) (Client, error) {
	deadline := time.Now().Add(connectWait)
	for {
		cli := c.client()
		if cli != nil && cli.IsLoggedIn() {
			return cli, nil
		}
		switch c.state.status().State {
		case StateUnpaired, StatePaired, StateConnected, StateDisconnected:
			// On its way: wait a little rather than fail the reply.
			if time.Now().Before(deadline) && connectors.Sleep(ctx, 20*time.Millisecond) {
				continue
			}
		}
		break
	}
	st := c.state.status()
	err := fmt.Errorf("whatsapp %s: send to %s: not connected (%s: %s)", c.name, address, st.State, st.Detail)
	switch {
	case st.State == StateBanned:
		if wait := c.state.banUntil().Sub(c.now()); wait > 0 {
			return nil, connectors.RetryAfter(wait, err)
		}
	case st.State == StateUnpaired || st.State == StatePairing || st.State == StateLoggedOut:
		return nil, connectors.Unauthorized(err)
	}
	return nil, err
}

// sendPart sends one part under id, waiting for the rate limits first. The ledger learns id
// before it goes, so a receipt that overtakes SendMessage's answer finds its message.
func (c *Channel) sendPart(ctx context.Context, cli Client, to types.JID, address normalize.Address, id string, msgID normalize.MessageID, p part, ctxInfo *waE2E.ContextInfo) error {
	var content *waE2E.Message
	if p.att != nil {
		var err error
		if content, err = c.upload(ctx, cli, address, *p.att, ctxInfo); err != nil {
			return err
		}
	} else if ctxInfo != nil {
		content = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(p.text), ContextInfo: ctxInfo}}
	} else {
		content = &waE2E.Message{Conversation: proto.String(p.text)}
	}
	if err := c.limiter.Wait(ctx, address); err != nil {
		return fmt.Errorf("whatsapp %s: send to %s: waiting for the rate limit: %w", c.name, address, err)
	}
	if err := c.ledger.sending(ctx, id, msgID); err != nil {
		return fmt.Errorf("whatsapp %s: %w", c.name, err)
	}
	if _, err := cli.SendMessage(ctx, to, content, whatsmeow.SendRequestExtra{ID: types.MessageID(id)}); err != nil {
		return classify(fmt.Errorf("whatsapp %s: send to %s: %w", c.name, address, err), err)
	}
	return nil
}

// upload encrypts and uploads an attachment and returns the message that carries it.
func (c *Channel) upload(ctx context.Context, cli Client, address normalize.Address, att normalize.Attachment, ctxInfo *waE2E.ContextInfo) (*waE2E.Message, error) {
	if c.maxBytes > 0 && att.Size > c.maxBytes {
		return nil, connectors.Permanent(fmt.Errorf("whatsapp %s: send to %s: %s is over the attachments limit: %w", c.name, address, att.Name, connectors.ErrTooLarge))
	}
	rc, err := c.blobs.Open(ctx, att.BlobRef)
	if err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			err = connectors.Permanent(err)
		}
		return nil, fmt.Errorf("whatsapp %s: send to %s: open attachment %s: %w", c.name, address, att.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("whatsapp %s: send to %s: read attachment %s: %w", c.name, address, att.Name, err)
	}
	kind := whatsmeow.MediaDocument
	if imageTypes[att.MediaType] {
		kind = whatsmeow.MediaImage
	}
	up, err := cli.Upload(ctx, data, kind)
	if err != nil {
		return nil, classify(fmt.Errorf("whatsapp %s: send to %s: upload %s: %w", c.name, address, att.Name, err), err)
	}
	if kind == whatsmeow.MediaImage {
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(att.MediaType), ContextInfo: ctxInfo,
		}}, nil
	}
	return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(att.MediaType), FileName: proto.String(att.Name), Title: proto.String(att.Name),
		ContextInfo: ctxInfo,
	}}, nil
}

// quote returns the context that makes a reply quote the player's message replyTo, with its
// content when the channel still has it; nil when the reply answers nothing.
func (c *Channel) quote(replyTo normalize.ExternalID) *waE2E.ContextInfo {
	if replyTo == "" {
		return nil
	}
	ci := &waE2E.ContextInfo{StanzaID: proto.String(string(replyTo))}
	if m, ok := c.recent.get(string(replyTo)); ok {
		ci.Participant = proto.String(m.sender.ToNonAD().String())
		ci.QuotedMessage = m.msg
	}
	return ci
}

// markRead marks the player's messages read now that an agent answered. It is a courtesy:
// failures are logged, never returned.
func (c *Channel) markRead(ctx context.Context, cli Client, address normalize.Address) {
	for key, ids := range c.recent.takeUnread(address) {
		if err := cli.MarkRead(ctx, ids, c.now(), key[0], key[1]); err != nil {
			c.log.Info("whatsapp: marking the player's messages read failed", "conv", address, "err", err)
		}
	}
}

// Typing shows "typing…" in the player's chat. It is a hint: failures are logged at debug
// level, never returned.
func (c *Channel) Typing(ctx context.Context, conv normalize.Conversation) error {
	to, err := jidOf(conv.Address)
	cli := c.client()
	if err != nil || cli == nil || !cli.IsLoggedIn() {
		return nil
	}
	if err := cli.SendChatPresence(ctx, to, types.ChatPresenceComposing); err != nil {
		c.log.Debug("whatsapp: typing failed", "conv", conv.ID, "err", err)
	}
	return nil
}

// jidOf is the chat of a conversation address: a player's E.164 number, or a group's JID.
func jidOf(address normalize.Address) (types.JID, error) {
	if strings.Contains(string(address), "@") {
		jid, err := types.ParseJID(string(address))
		if err != nil || jid.Server != types.GroupServer {
			return types.JID{}, fmt.Errorf("conversation address %q is neither a phone number nor a group", address)
		}
		return jid, nil
	}
	digits, err := wamsg.WaID(address)
	if err != nil {
		return types.JID{}, fmt.Errorf("conversation address %q: %w", address, err)
	}
	return types.NewJID(digits, types.DefaultUserServer), nil
}

// serverError reads the code of whatsmeow's "server returned error 479".
var serverError = regexp.MustCompile(`server returned error (\d+)`)

// classify maps a whatsmeow failure to the router's classes: a message WhatsApp's server
// refused (a 4xx code) is permanent, except a rate limit (429: wait a minute) and a timeout
// (408); a lost session is a credentials problem (pair again); the rest (no connection, no
// answer in time, 5xx) are retried with back-off.
func classify(wrapped, err error) error {
	switch {
	case errors.Is(err, whatsmeow.ErrNotLoggedIn):
		return connectors.Unauthorized(wrapped)
	case errors.Is(err, whatsmeow.ErrRecipientADJID), errors.Is(err, whatsmeow.ErrUnknownServer),
		errors.Is(err, whatsmeow.ErrBroadcastListUnsupported), errors.Is(err, whatsmeow.ErrInvalidInlineBotID):
		return connectors.Permanent(wrapped)
	case errors.Is(err, whatsmeow.ErrServerReturnedError):
		m := serverError.FindStringSubmatch(err.Error())
		if m == nil {
			return wrapped
		}
		code, _ := strconv.Atoi(m[1])
		switch {
		case code == 429:
			return connectors.RetryAfter(time.Minute, wrapped)
		case code == 408:
			return wrapped
		case code >= 400 && code < 500:
			return connectors.Permanent(wrapped)
		}
	}
	return wrapped
}

// sendProgress remembers how many parts of a reply went before a part failed, by message ID.
type sendProgress struct {
	mu sync.Mutex
	m  map[normalize.MessageID]int
}

func newSendProgress() *sendProgress { return &sendProgress{m: map[normalize.MessageID]int{}} }

func (p *sendProgress) done(id normalize.MessageID) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}

func (p *sendProgress) set(id normalize.MessageID, done int) {
	if id == "" || done == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) > 10000 { // dead-lettered messages never come back; keep the map bounded
		clear(p.m)
	}
	p.m[id] = done
}

func (p *sendProgress) forget(id normalize.MessageID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, id)
}
