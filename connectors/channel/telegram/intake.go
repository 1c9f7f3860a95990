package telegram

import (
	"context"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/normalize"
)

// notice is a text the channel sends a player itself after their message was stored: the
// /start greeting, or why a file could not be fetched.
type notice struct {
	chatID int64
	conv   normalize.Address
	text   string
	markup any // a reply keyboard to show or remove, if any
}

// batch is a set of updates converted for one Deliver: the messages, the notices to send once
// they are stored, and the chat identities their /start payloads established, remembered only
// once they are stored too (a retried batch is converted again).
type batch struct {
	msgs    []normalize.Message
	notices []notice
	idents  map[int64]playerIdentity
}

// prepare converts a batch of updates and fetches their files. It fails only on what a retry
// may fix (network, 5xx); then nothing of the batch is delivered and the caller retries it.
func (c *Channel) prepare(ctx context.Context, updates []tgbotapi.Update) (batch, error) {
	opt := convertOptions{name: c.name, allowGroups: c.cfg.AllowGroups, callbacks: c.cfg.CallbackRequests}
	b := batch{idents: map[int64]playerIdentity{}}
	for _, u := range updates {
		in, reason := convertUpdate(opt, u)
		if reason != "" {
			c.log.Info("telegram: update ignored", "update_id", u.UpdateID, "reason", reason)
			continue
		}
		for _, f := range in.files {
			att, note, problem, err := c.fetch(ctx, f)
			if err != nil {
				return batch{}, err
			}
			if note != "" {
				in.msg.Text = joinLines(in.msg.Text, note)
				if in.msg.Kind == normalize.KindImage {
					in.msg.Kind = normalize.KindDocument // a file to download now, not a picture
				}
			}
			if problem != "" {
				in.msg.Text = joinLines(in.msg.Text, problem)
				b.notices = append(b.notices, notice{chatID: in.chatID, conv: in.msg.Address,
					text: "Sorry, we could not receive your file " + f.name + ": " + playerReason(f) + " Please send a smaller file or describe it in a message."})
				continue
			}
			in.msg.Attachments = append(in.msg.Attachments, att)
		}
		if in.private {
			c.identify(&in, b.idents)
		}
		if in.start {
			b.notices = append(b.notices, notice{chatID: in.chatID, conv: in.msg.Address, text: greeting(c.cfg.Greetings, in.msg.Author.Language)})
		}
		if in.askCallback {
			// Only a question of the bot's: the request itself is the contact that follows.
			text, kb := askForContact(in.msg.Author.Language)
			b.notices = append(b.notices, notice{chatID: in.chatID, conv: in.msg.Address, text: text, markup: kb})
			c.log.Info("telegram: call-back asked, contact requested", "conv", in.msg.Address)
			continue
		}
		if in.msg.Callback != nil {
			text, kb := thanksForContact(in.msg.Author.Language, in.msg.Callback.Phone)
			b.notices = append(b.notices, notice{chatID: in.chatID, conv: in.msg.Address, text: text, markup: kb})
		}
		b.msgs = append(b.msgs, in.msg)
	}
	return b, nil
}

// identify sets the player's casino identity on a private chat's message. A /start with a
// payload is verified when player_secret is set: a valid one identifies this message and,
// through pending, the chat from now on (its payload, a bearer credential, is dropped from
// the text); an invalid, expired or forged one leaves this message anonymous, with a warning,
// and keeps its text as written. Any other message gets the chat's identity, if it has one.
func (c *Channel) identify(in *inbound, pending map[int64]playerIdentity) {
	if payload := startPayload(in.msg.Text); in.start && payload != "" && c.playerSecret != nil {
		id, err := verifyStart(c.playerSecret, payload, c.now())
		if err != nil {
			reason := startRefusalReason(err)
			if n, ok := c.startRefused.Refuse(reason); ok {
				c.log.Warn("telegram: /start payload not accepted, message delivered anonymously; the chat is not linked to a player",
					"conv", in.msg.Address, "external_id", in.msg.ExternalID, "reason", reason, "refused", n, "err", err)
			}
			return
		}
		pending[in.chatID] = id
		in.msg.Text, _, _ = strings.Cut(in.msg.Text, " ")
		in.msg.Author.PlayerID, in.msg.Author.VIPTier, in.msg.Author.PlayerIDBy = id.PlayerID, id.VIP, normalize.LinkedByTelegramLink
		c.log.Info("telegram: player identified by /start", "conv", in.msg.Address, "player_id", id.PlayerID)
		return
	}
	id, ok := pending[in.chatID]
	if !ok {
		id, ok = c.identities.get(in.chatID)
	}
	if ok {
		in.msg.Author.PlayerID, in.msg.Author.VIPTier, in.msg.Author.PlayerIDBy = id.PlayerID, id.VIP, normalize.LinkedByTelegramLink
	}
}

// playerReason explains a file that could not be fetched in the player's terms.
func playerReason(f fileRef) string {
	if f.size > maxDownload || f.size == 0 {
		return "Telegram lets us fetch files of up to 20 MB."
	}
	return "it is larger than we can accept."
}

// noticesTimeout bounds sending one batch's notices, which a stop does not cancel.
const noticesTimeout = 10 * time.Second

// sendNotices sends what prepare queued. They are hints to the player: failures are logged,
// never retried, since the messages they answer are already stored. A stop that comes while
// they go does not cut them off: the batch they answer is stored and confirmed on the way
// out, so it will not come again to send them then.
func (c *Channel) sendNotices(ctx context.Context, notices []notice) {
	if len(notices) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticesTimeout)
	defer cancel()
	for _, n := range notices {
		if n.text == "" {
			continue
		}
		cfg := tgbotapi.NewMessage(n.chatID, n.text)
		cfg.ReplyMarkup = n.markup
		if _, err := c.request(ctx, n.chatID, cfg); err != nil {
			c.log.Warn("telegram: notice not sent", "conv", n.conv, "err", err)
		}
	}
}

// greeting picks the /start answer for lang: the exact tag, then its base language, then en.
func greeting(greetings map[string]string, lang string) string {
	for k, v := range greetings {
		if strings.EqualFold(k, lang) {
			return v
		}
	}
	base, _, _ := strings.Cut(lang, "-")
	for k, v := range greetings {
		if strings.EqualFold(k, base) {
			return v
		}
	}
	return greetings["en"]
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}
