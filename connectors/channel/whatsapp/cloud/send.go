package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// MaxText is the most characters of a text message's body the Cloud API takes; longer replies
// go in parts.
const MaxText = 4096

// maxCaption is the most characters of a media caption.
const maxCaption = 1024

// outMessage is the body of POST /{phone_number_id}/messages.
type outMessage struct {
	MessagingProduct string       `json:"messaging_product"`
	RecipientType    string       `json:"recipient_type"`
	To               string       `json:"to"`
	Type             string       `json:"type"`
	Context          *outContext  `json:"context,omitempty"`
	Text             *outText     `json:"text,omitempty"`
	Image            *outMedia    `json:"image,omitempty"`
	Document         *outMedia    `json:"document,omitempty"`
	Audio            *outMedia    `json:"audio,omitempty"`
	Video            *outMedia    `json:"video,omitempty"`
	Template         *outTemplate `json:"template,omitempty"`

	// att is the number of the reply's attachment the message carries, from 1; 0 for none.
	att int
}

type outContext struct {
	MessageID string `json:"message_id"`
}

type outText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type outMedia struct {
	ID       string `json:"id"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type outTemplate struct {
	Name       string         `json:"name"`
	Language   outLanguage    `json:"language"`
	Components []outComponent `json:"components,omitempty"`
}

type outLanguage struct {
	Code string `json:"code"`
}

type outComponent struct {
	Type       string         `json:"type"`
	Parameters []outParameter `json:"parameters"`
}

type outParameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// mediaTypes are the types the Cloud API sends as what they are (its supported media
// reference); anything else goes as a document, which takes any type.
var mediaTypes = map[string]string{
	"image/jpeg": "image", "image/png": "image",
	"audio/aac": "audio", "audio/amr": "audio", "audio/mpeg": "audio", "audio/mp4": "audio", "audio/ogg": "audio",
	"video/mp4": "video", "video/3gpp": "video",
}

// mediaLimits are the Cloud API's size limits per kind; a larger file goes as a document
// (up to 100 MB).
var mediaLimits = map[string]int64{"image": 5 << 20, "audio": 16 << 20, "video": 16 << 20}

// Send delivers an agent's reply: the text in parts of at most 4096 characters, then each
// attachment (uploaded, then sent by its media ID). The first part answers msg.ReplyTo. It
// returns the wamid of the last part. Parts sent before a failure are remembered by msg.ID,
// so the router's retry goes on from the failed one.
//
// Outside the player's 24-hour customer-service window the reply cannot reach them: with a
// template configured, the template goes instead (the agent's text as its parameter when
// template.body_parameter is set); without one, Send fails permanently and the conversation
// gets a notice for the agents saying a template is needed.
//
// The Cloud API takes no idempotency key: a request whose answer was lost (a timeout, a reset
// connection) may have sent its part, and the router's retry sends it again, so the player
// may see that part twice.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	to, err := wamsg.WaID(conv.Address)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("whatsapp-cloud: %w", err))
	}
	steps := c.steps(msg)
	if len(steps) == 0 {
		return "", connectors.Permanent(fmt.Errorf("whatsapp-cloud: send to %s: message has neither text nor attachments", conv.Address))
	}
	if open, err := c.windows.open(ctx, conv.Address); err != nil {
		return "", fmt.Errorf("whatsapp-cloud: send to %s: %w", conv.Address, err)
	} else if !open {
		return c.windowClosed(ctx, conv, msg, to, nil)
	}
	done, last := c.progress.get(msg.ID)
	for i := done; i < len(steps); i++ {
		out := steps[i]
		out.To = to
		if i == 0 && replyable(msg.ReplyTo) {
			out.Context = &outContext{MessageID: string(msg.ReplyTo)}
		}
		id, err := c.sendStep(ctx, conv.Address, out, msg)
		if errors.Is(err, errWindowClosed) {
			c.progress.set(msg.ID, i, last)
			return c.windowClosed(ctx, conv, msg, to, err)
		}
		if err != nil {
			c.progress.set(msg.ID, i, last)
			return "", fmt.Errorf("whatsapp-cloud: send to %s: %w", conv.Address, err)
		}
		c.sent.add(normalize.ExternalID(id), msg.ID)
		last = normalize.ExternalID(id)
	}
	c.progress.forget(msg.ID)
	c.log.Debug("whatsapp-cloud: sent", "conv", conv.ID, "msg_id", msg.ID, "parts", len(steps))
	return last, nil
}

// replyable reports whether ref is a wamid the context of a reply may name: the IDs of edits
// the channel makes up (with a colon) are not Meta's.
func replyable(ref normalize.ExternalID) bool {
	return strings.HasPrefix(string(ref), "wamid.") && !strings.Contains(string(ref), ":")
}

// steps are the messages of one reply, without "to": the text parts, then the attachments
// (whose media IDs sendStep fills in).
func (c *Channel) steps(msg normalize.Message) []outMessage {
	var out []outMessage
	for _, part := range splitText(msg.Text, MaxText) {
		out = append(out, outMessage{Type: "text", Text: &outText{Body: part}})
	}
	for i := range msg.Attachments {
		a := msg.Attachments[i]
		kind := mediaTypes[a.MediaType]
		if kind == "" || a.Size > mediaLimits[kind] {
			kind = "document"
		}
		m := outMessage{Type: kind, att: i + 1}
		media := &outMedia{}
		if kind == "document" {
			media.Filename = a.Name
		}
		switch kind {
		case "image":
			m.Image = media
		case "audio":
			m.Audio = media
		case "video":
			m.Video = media
		default:
			m.Document = media
		}
		out = append(out, m)
	}
	return out
}

// sendStep uploads the step's attachment, if it has one, and sends the step, after the rate
// limiter lets it go.
func (c *Channel) sendStep(ctx context.Context, address normalize.Address, out outMessage, msg normalize.Message) (string, error) {
	out.MessagingProduct, out.RecipientType = "whatsapp", "individual"
	if media := out.media(); media != nil && out.att > 0 {
		att := msg.Attachments[out.att-1]
		rc, err := c.blobs.Open(ctx, att.BlobRef)
		if err != nil {
			return "", fmt.Errorf("open attachment %s: %w", att.Name, err)
		}
		id, err := c.graph.upload(ctx, c.cfg.PhoneNumberID, rc, att.Name, att.MediaType)
		rc.Close()
		if err != nil {
			return "", err
		}
		media.ID = id
	}
	if err := c.limiter.Wait(ctx, address); err != nil {
		return "", fmt.Errorf("waiting for the rate limit: %w", err)
	}
	return c.graph.send(ctx, c.cfg.PhoneNumberID, out)
}

// media returns the step's media object, nil for text and templates.
func (m *outMessage) media() *outMedia {
	for _, p := range []*outMedia{m.Image, m.Document, m.Audio, m.Video} {
		if p != nil {
			return p
		}
	}
	return nil
}

// windowClosed handles a reply the player's closed customer-service window keeps from them:
// the template goes instead when there is one; otherwise the agents are told, and the reply
// fails for good. cause is Meta's refusal, nil when the channel knew the window closed.
func (c *Channel) windowClosed(ctx context.Context, conv normalize.Conversation, msg normalize.Message, to string, cause error) (normalize.ExternalID, error) {
	if cause == nil {
		cause = errWindowClosed
	}
	if c.cfg.Template.Name == "" {
		c.noteWindowClosed(ctx, conv, msg.ID)
		return "", connectors.Permanent(fmt.Errorf("whatsapp-cloud: send to %s: %w", conv.Address, cause))
	}
	t := &outTemplate{Name: c.cfg.Template.Name, Language: outLanguage{Code: c.cfg.Template.Language}}
	if c.cfg.Template.BodyParameter {
		t.Components = []outComponent{{Type: "body", Parameters: []outParameter{{Type: "text", Text: templateText(msg.Text)}}}}
	}
	id, err := c.sendStep(ctx, conv.Address, outMessage{To: to, Type: "template", Template: t}, msg)
	if err != nil {
		return "", fmt.Errorf("whatsapp-cloud: send template %s to %s: %w", c.cfg.Template.Name, conv.Address, err)
	}
	c.progress.forget(msg.ID)
	c.sent.add(normalize.ExternalID(id), msg.ID)
	c.log.Info("whatsapp-cloud: the window is closed; sent the template instead", "conv", conv.ID, "msg_id", msg.ID, "template", c.cfg.Template.Name)
	return normalize.ExternalID(id), nil
}

// templateText is a reply's text as a template's body parameter: one line (Meta refuses new
// lines, tabs and more than four spaces in a row there), at most 1024 characters.
func templateText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxCaption {
		s = string(r[:maxCaption-1]) + "…"
	}
	if s == "" {
		s = "-"
	}
	return s
}

// windowText is the notice for the agents when a reply cannot go because the window closed.
const windowText = "A reply could not be sent on WhatsApp: the player's last message is more than 24 hours old, " +
	"and outside this customer-service window WhatsApp only delivers approved template messages. " +
	"Configure a template for the channel (template.name, docs/whatsapp.md) or wait until the player writes again."

// noteWindowClosed tells the agents, through the sink Run was given, that a reply needs a
// template. The note's ExternalID holds the reply's ID, so retries store it once. Failures are
// logged only: the caller fails the reply either way.
func (c *Channel) noteWindowClosed(ctx context.Context, conv normalize.Conversation, replyID normalize.MessageID) {
	note := normalize.Message{
		Direction:   normalize.Inbound,
		Source:      c.name,
		ExternalID:  normalize.ExternalID("window-closed:" + string(replyID)),
		Channel:     c.name,
		ChannelKind: Kind,
		Address:     conv.Address,
		Author:      normalize.Author{Role: normalize.RoleSystem},
		Kind:        normalize.KindSystem,
		Text:        windowText,
		SentAt:      c.now().UTC(),
	}
	if err := c.sink.Deliver(ctx, note); err != nil {
		c.log.Error("whatsapp-cloud: the window is closed; the note for the agents was not stored", "conv", conv.ID, "msg_id", replyID, "err", err)
		return
	}
	c.log.Info("whatsapp-cloud: the window is closed; told the agents a template is needed", "conv", conv.ID, "msg_id", replyID)
}

// splitText cuts s into parts of at most max characters, at a line break or space where one
// is near the end.
func splitText(s string, max int) []string {
	s = strings.TrimSpace(s)
	var parts []string
	for s != "" {
		r := []rune(s)
		if len(r) <= max {
			parts = append(parts, s)
			break
		}
		cut := max
		for i := max; i > max*3/4; i-- {
			if r[i] == '\n' || r[i] == ' ' {
				cut = i
				break
			}
		}
		parts = append(parts, strings.TrimSpace(string(r[:cut])))
		s = strings.TrimSpace(string(r[cut:]))
	}
	return parts
}

// sendProgress remembers how far a failed multi-part Send got, by message ID.
type sendProgress struct {
	mu sync.Mutex
	m  map[normalize.MessageID]sendState
}

type sendState struct {
	done int
	last normalize.ExternalID
}

func (p *sendProgress) get(id normalize.MessageID) (int, normalize.ExternalID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.m[id]
	return s.done, s.last
}

func (p *sendProgress) set(id normalize.MessageID, done int, last normalize.ExternalID) {
	if done == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) > 10000 { // dead-lettered replies never come back; keep it bounded
		p.m = map[normalize.MessageID]sendState{}
	}
	p.m[id] = sendState{done: done, last: last}
}

func (p *sendProgress) forget(id normalize.MessageID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, id)
}
