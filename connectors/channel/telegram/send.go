package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// maxPhoto is the largest upload sendPhoto takes; bigger images go as documents.
const maxPhoto = 10 << 20

// photoTypes are the images Telegram shows inline: the formats the Bot API's sendPhoto takes.
// That is Telegram's rule, not a property of the type (media.IsInlineImage also has GIF), so
// it stays here; others (GIF, SVG) are sent as documents so they arrive unchanged.
var photoTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// step is one Bot API message of an outbound message: a text part or an attachment.
type step struct {
	text string
	att  *normalize.Attachment
}

// Send delivers an agent's reply: the text in parts of at most 4096 characters, then each
// attachment. It returns the ID of the last part sent. When a part fails, the parts already
// sent are remembered by msg.ID, so the router's retry continues instead of repeating them.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	chatID, err := strconv.ParseInt(string(conv.Address), 10, 64)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("telegram: conversation address %q is not a chat ID", conv.Address))
	}
	var steps []step
	for _, part := range splitText(msg.Text, maxText) {
		steps = append(steps, step{text: part})
	}
	for i := range msg.Attachments {
		steps = append(steps, step{att: &msg.Attachments[i]})
	}
	if len(steps) == 0 {
		return "", connectors.Permanent(fmt.Errorf("telegram: send to chat %d: message has neither text nor attachments", chatID))
	}
	replyTo := replyTarget(chatID, msg.ReplyTo)
	done, last := c.progress.get(msg.ID)
	for i := done; i < len(steps); i++ {
		var id normalize.ExternalID
		reply := 0
		if i == 0 {
			reply = replyTo
		}
		switch {
		case steps[i].att != nil:
			id, err = c.sendFile(ctx, chatID, *steps[i].att, reply)
		case i == len(splitText(msg.Text, maxText))-1 && len(msg.QuickReplies) > 0:
			id, err = c.sendOptions(ctx, chatID, steps[i].text, reply, msg.QuickReplies)
		default:
			id, err = c.sendText(ctx, chatID, steps[i].text, reply)
		}
		if err != nil {
			c.progress.set(msg.ID, i, last)
			if errors.Is(err, errBlocked) {
				c.noteBlocked(ctx, conv, chatID, msg.ID)
			}
			return "", err
		}
		last = id
	}
	c.progress.forget(msg.ID)
	c.log.Debug("telegram: sent", "conv", conv.ID, "msg_id", msg.ID, "parts", len(steps))
	return last, nil
}

// replyTarget returns the message ID of ref when it is a message of chatID ("<chat>:<id>").
func replyTarget(chatID int64, ref normalize.ExternalID) int {
	chat, id, ok := strings.Cut(string(ref), ":")
	if !ok || chat != strconv.FormatInt(chatID, 10) {
		return 0
	}
	n, err := strconv.Atoi(id)
	if err != nil {
		return 0
	}
	return n
}

// sendText sends one text of at most 4096 characters.
func (c *Channel) sendText(ctx context.Context, chatID int64, text string, replyTo int) (normalize.ExternalID, error) {
	cfg := tgbotapi.NewMessage(chatID, text)
	cfg.ReplyToMessageID, cfg.AllowSendingWithoutReply = replyTo, true
	return c.request(ctx, chatID, cfg)
}

// ShowsQuickReplies implements connectors.QuickReplier: the options become a one-time reply
// keyboard under the text's last part, and a tap sends the option's text as the player's
// message.
func (c *Channel) ShowsQuickReplies() bool { return true }

// sendOptions sends text with options as a one-time reply keyboard, one button a row.
func (c *Channel) sendOptions(ctx context.Context, chatID int64, text string, replyTo int, options []string) (normalize.ExternalID, error) {
	cfg := tgbotapi.NewMessage(chatID, text)
	cfg.ReplyToMessageID, cfg.AllowSendingWithoutReply = replyTo, true
	rows := make([][]tgbotapi.KeyboardButton, 0, len(options))
	for _, o := range options {
		rows = append(rows, tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton(o)))
	}
	kb := tgbotapi.NewReplyKeyboard(rows...)
	kb.OneTimeKeyboard, kb.ResizeKeyboard = true, true
	cfg.ReplyMarkup = kb
	return c.request(ctx, chatID, cfg)
}

// sendFile uploads an attachment from the blob store: images as photos, the rest as documents.
// A photo Telegram refuses (over 10000 pixels in width and height together, a side ratio over
// 20, or content it cannot process) goes again as a document, which it takes unchanged:
// refusing it for good would dead-letter the whole reply.
func (c *Channel) sendFile(ctx context.Context, chatID int64, att normalize.Attachment, replyTo int) (normalize.ExternalID, error) {
	asPhoto := photoTypes[att.MediaType] && att.Size <= maxPhoto
	id, err := c.upload(ctx, chatID, att, replyTo, asPhoto)
	if asPhoto && connectors.IsPermanent(err) && !errors.Is(err, errBlocked) {
		c.log.Info("telegram: photo refused, sending it as a document", "file", att.Name, "err", err)
		return c.upload(ctx, chatID, att, replyTo, false)
	}
	return id, err
}

// upload sends one attachment as a photo or as a document.
func (c *Channel) upload(ctx context.Context, chatID int64, att normalize.Attachment, replyTo int, asPhoto bool) (normalize.ExternalID, error) {
	rc, err := c.blobs.Open(ctx, att.BlobRef)
	if err != nil {
		return "", fmt.Errorf("telegram: send to chat %d: open attachment %s: %w", chatID, att.Name, err)
	}
	defer rc.Close()
	// Hide Close from the library, which would close the blob from its upload goroutine.
	file := tgbotapi.FileReader{Name: safeName(att.Name, "file"), Reader: struct{ io.Reader }{rc}}
	var cfg tgbotapi.Chattable
	if asPhoto {
		p := tgbotapi.NewPhoto(chatID, file)
		p.ReplyToMessageID, p.AllowSendingWithoutReply = replyTo, true
		cfg = p
	} else {
		d := tgbotapi.NewDocument(chatID, file)
		d.ReplyToMessageID, d.AllowSendingWithoutReply = replyTo, true
		cfg = d
	}
	return c.request(ctx, chatID, cfg)
}

// request waits for the rate limiters, makes the call and returns the sent message's ID.
func (c *Channel) request(ctx context.Context, chatID int64, cfg tgbotapi.Chattable) (normalize.ExternalID, error) {
	if err := c.wait(ctx, chatID); err != nil {
		return "", fmt.Errorf("telegram: send to chat %d: waiting for the rate limit: %w", chatID, err)
	}
	resp, err := c.api(ctx, c.client).Request(cfg)
	if err != nil {
		return "", c.sendError(chatID, resp, err)
	}
	var m tgbotapi.Message
	if err := json.Unmarshal(resp.Result, &m); err != nil || m.MessageID == 0 {
		return "", fmt.Errorf("telegram: send to chat %d: no message in the answer: %v", chatID, err)
	}
	return messageRef(chatID, m.MessageID), nil
}

// sendError maps a Bot API failure to the router's retry classes by the connectors' one
// policy (connectors.ClassifyStatus: 401 is a token to fix, not a message to drop; 429 waits
// retry_after), except that Telegram's 403 means the player blocked the bot, which no retry
// fixes.
func (c *Channel) sendError(chatID int64, resp *tgbotapi.APIResponse, err error) error {
	err = c.redact(err)
	code, retryAfter := apiError(resp, err)
	if code == http.StatusForbidden {
		return connectors.Permanent(fmt.Errorf("telegram: send to chat %d: %w: %w", chatID, errBlocked, err))
	}
	return connectors.ClassifyStatus(code, time.Duration(retryAfter)*time.Second, fmt.Errorf("telegram: send to chat %d: %w", chatID, err))
}

// errBlocked marks a send Telegram refused with 403: the player blocked the bot (or deleted
// their account, or the bot was removed from the group).
var errBlocked = errors.New("the player blocked the bot or cannot be messaged")

// blockedText is the note added to the conversation when a reply hits errBlocked.
const blockedText = "The player blocked the bot; replies cannot be delivered on Telegram."

// noteBlocked tells the agents, through the sink Run was given, that a reply could not reach
// the player because they blocked the bot. The note's ExternalID includes the reply's ID, so
// the router's retries (and a retried Deliver) store it once. Failures are logged only: the
// caller returns the permanent error either way.
func (c *Channel) noteBlocked(ctx context.Context, conv normalize.Conversation, chatID int64, replyID normalize.MessageID) {
	sink := c.sink.Sink()
	if sink == nil {
		c.log.Warn("telegram: the player blocked the bot; not noted on the ticket because the channel is not running",
			"conv", conv.ID, "msg_id", replyID)
		return
	}
	address := strconv.FormatInt(chatID, 10)
	note := normalize.Message{
		Direction:   normalize.Inbound,
		Source:      c.name,
		ExternalID:  normalize.ExternalID(address + ":blocked:" + string(replyID)),
		Channel:     c.name,
		ChannelKind: normalize.KindTelegram,
		Address:     normalize.Address(address),
		Author:      normalize.Author{Role: normalize.RoleSystem},
		Kind:        normalize.KindSystem,
		Text:        blockedText,
		SentAt:      c.now().UTC(),
	}
	if err := sink.Deliver(ctx, note); err != nil {
		c.log.Error("telegram: the player blocked the bot; the note for the ticket was not stored",
			"conv", conv.ID, "msg_id", replyID, "err", err)
		return
	}
	c.log.Info("telegram: the player blocked the bot; noted on the ticket", "conv", conv.ID, "msg_id", replyID)
}

// Typing shows "typing…" in the player's chat for about five seconds, or until the next
// message arrives. It is a hint: it waits for the bot-wide rate limit (not the chat's, which
// is kept for messages) and its failures are only logged at debug level, never returned.
func (c *Channel) Typing(ctx context.Context, conv normalize.Conversation) error {
	chatID, err := strconv.ParseInt(string(conv.Address), 10, 64)
	if err != nil {
		c.log.Debug("telegram: typing: conversation address is not a chat ID", "conv", conv.ID)
		return nil
	}
	if err := c.global.Wait(ctx); err != nil {
		c.log.Debug("telegram: typing: waiting for the rate limit", "conv", conv.ID, "err", err)
		return nil
	}
	if _, err := c.api(ctx, c.client).Request(tgbotapi.NewChatAction(chatID, tgbotapi.ChatTyping)); err != nil {
		c.log.Debug("telegram: typing: sendChatAction failed", "conv", conv.ID, "err", c.redact(err))
	}
	return nil
}

// sendProgress remembers how far a failed multi-part Send got, by message ID.
type sendProgress struct {
	mu sync.Mutex
	m  map[normalize.MessageID]progress
}

type progress struct {
	done int
	last normalize.ExternalID
}

func newSendProgress() *sendProgress {
	return &sendProgress{m: map[normalize.MessageID]progress{}}
}

func (p *sendProgress) get(id normalize.MessageID) (int, normalize.ExternalID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.m[id]
	return pr.done, pr.last
}

func (p *sendProgress) set(id normalize.MessageID, done int, last normalize.ExternalID) {
	if id == "" || done == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) > 10000 { // dead-lettered messages never come back; keep the map bounded
		clear(p.m)
	}
	p.m[id] = progress{done: done, last: last}
}

func (p *sendProgress) forget(id normalize.MessageID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, id)
}
