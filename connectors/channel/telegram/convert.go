package telegram

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

// inbound is one converted update: the message, the files still to fetch into it, and whether
// the player sent /start (and so is greeted).
type inbound struct {
	msg     normalize.Message
	files   []fileRef
	chatID  int64
	start   bool
	private bool // a one-to-one chat with the player, where a /start identity applies
	// askCallback is a /callback command: answered with the contact button, not delivered.
	askCallback bool
}

// fileRef is a file attached to a Telegram message, named and typed as the message says.
type fileRef struct {
	id        string
	name      string
	mediaType string
	size      int64
}

// convertOptions are the settings conversion depends on.
type convertOptions struct {
	name        normalize.InstanceName
	allowGroups bool
	callbacks   bool // callback_requests: /callback and the player's own contact
}

// convertUpdate turns one update into an inbound message. It returns a reason instead when the
// update is not a player's message (a group chat, a bot, an update type we do not handle).
// It is pure: files are only named here and fetched by the caller.
func convertUpdate(opt convertOptions, u tgbotapi.Update) (inbound, string) {
	m, edited := u.Message, false
	if m == nil {
		m, edited = u.EditedMessage, true
	}
	switch {
	case m == nil:
		return inbound{}, "update carries no message"
	case m.Chat == nil:
		return inbound{}, "message without chat"
	case m.Chat.Type != "private" && !opt.allowGroups:
		return inbound{}, "message from a " + m.Chat.Type + " chat (allow_groups is off)"
	case m.Chat.Type == "channel":
		return inbound{}, "channel post"
	case m.From == nil || m.From.IsBot:
		return inbound{}, "message not from a person"
	}
	in := inbound{chatID: m.Chat.ID, private: m.Chat.Type == "private", msg: normalize.Message{
		Direction:   normalize.Inbound,
		Source:      opt.name,
		Channel:     opt.name,
		ChannelKind: normalize.KindTelegram,
		ExternalID:  messageRef(m.Chat.ID, m.MessageID),
		Address:     normalize.Address(strconv.FormatInt(m.Chat.ID, 10)),
		Author:      author(m.From),
		SentAt:      time.Unix(int64(m.Date), 0).UTC(),
	}}
	content(&in, m)
	if m.ReplyToMessage != nil {
		in.msg.ReplyTo = messageRef(m.Chat.ID, m.ReplyToMessage.MessageID)
	}
	if edited {
		in.msg.Edits = in.msg.ExternalID
		// By update, not edit_date: that is in whole seconds, and a player fixing a typo twice
		// within one would have the second edit dropped as a duplicate of the first. The
		// update_id is Telegram's own and the same when an update comes again.
		in.msg.ExternalID = normalize.ExternalID(fmt.Sprintf("%s:edit:%d", in.msg.ExternalID, u.UpdateID))
		in.msg.Kind = normalize.KindEdit
		if m.EditDate > 0 {
			in.msg.SentAt = time.Unix(int64(m.EditDate), 0).UTC()
		}
		return in, ""
	}
	cmd, _, _ := strings.Cut(in.msg.Text, " ")
	in.start = in.msg.Kind == normalize.KindText && (cmd == "/start" || strings.HasPrefix(cmd, "/start@"))
	if opt.callbacks && in.private {
		in.askCallback = in.msg.Kind == normalize.KindText && isCallbackCommand(in.msg.Text)
		if cb, ok := ownContactRequest(m); ok {
			callback.Mark(&in.msg, cb, "Telegram")
		}
	}
	return in, ""
}

// messageRef is a message's ExternalID: message IDs are counted per chat, so the chat is part
// of it. Replies the channel sends get IDs of the same form, in the same namespace.
func messageRef(chatID int64, messageID int) normalize.ExternalID {
	return normalize.ExternalID(fmt.Sprintf("%d:%d", chatID, messageID))
}

func author(u *tgbotapi.User) normalize.Author {
	return normalize.Author{
		Role:        normalize.RolePlayer,
		DisplayName: strings.TrimSpace(u.FirstName + " " + u.LastName),
		Language:    u.LanguageCode,
		ExternalID:  strconv.FormatInt(u.ID, 10),
	}
}

// content fills Kind, Text, Location and the files from what the message carries.
func content(in *inbound, m *tgbotapi.Message) {
	msg := &in.msg
	msg.Kind, msg.Text = normalize.KindText, m.Text
	if m.Caption != "" {
		msg.Text = m.Caption
	}
	add := func(kind normalize.MessageKind, id, name, mediaType string, size int) {
		msg.Kind = kind
		in.files = append(in.files, fileRef{id: id, name: name, mediaType: mediaType, size: int64(size)})
	}
	switch {
	case m.Location != nil:
		msg.Kind = normalize.KindLocation
		msg.Location = &normalize.Location{Latitude: m.Location.Latitude, Longitude: m.Location.Longitude}
		msg.Text = strconv.FormatFloat(m.Location.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(m.Location.Longitude, 'f', -1, 64)
	case m.Contact != nil:
		msg.Kind = normalize.KindContact
		msg.Text = strings.TrimSpace(fmt.Sprintf("Contact: %s %s, %s", m.Contact.FirstName, m.Contact.LastName, m.Contact.PhoneNumber))
		msg.Text = strings.Join(strings.Fields(msg.Text), " ")
	case len(m.Photo) > 0:
		p := largest(m.Photo)
		add(normalize.KindImage, p.FileID, "photo_"+safeName(p.FileUniqueID, "file")+".jpg", "image/jpeg", p.FileSize)
	case m.Document != nil:
		d := m.Document
		add(normalize.KindDocument, d.FileID, safeName(d.FileName, "document"), orDefault(d.MimeType, "application/octet-stream"), d.FileSize)
	case m.Voice != nil:
		v := m.Voice
		add(normalize.KindVoiceMsg, v.FileID, "voice.ogg", orDefault(v.MimeType, "audio/ogg"), v.FileSize)
	case m.Audio != nil:
		a := m.Audio
		add(normalize.KindAudio, a.FileID, safeName(a.FileName, "audio.mp3"), orDefault(a.MimeType, "audio/mpeg"), a.FileSize)
	case m.Video != nil:
		v := m.Video
		add(normalize.KindVideo, v.FileID, safeName(v.FileName, "video.mp4"), orDefault(v.MimeType, "video/mp4"), v.FileSize)
	case m.VideoNote != nil:
		v := m.VideoNote
		add(normalize.KindVideo, v.FileID, "video_note.mp4", "video/mp4", v.FileSize)
	case m.Sticker != nil:
		s := m.Sticker
		name, mt := "sticker.webp", "image/webp"
		if s.IsAnimated {
			name, mt = "sticker.tgs", "application/x-tgsticker"
		}
		add(normalize.KindSticker, s.FileID, name, mt, s.FileSize)
		if msg.Text == "" {
			msg.Text = s.Emoji
		}
	case m.Dice != nil:
		msg.Text = m.Dice.Emoji
	case msg.Text == "":
		// Kept rather than dropped, so an agent sees that the player sent something.
		msg.Kind = normalize.KindSystem
		msg.Text = "[message type not supported by the gateway]"
	}
}

// largest returns the photo size with the most pixels: Telegram lists several renditions.
func largest(sizes []tgbotapi.PhotoSize) tgbotapi.PhotoSize {
	best := sizes[0]
	for _, s := range sizes[1:] {
		if s.Width*s.Height > best.Width*best.Height || (s.Width*s.Height == best.Width*best.Height && s.FileSize > best.FileSize) {
			best = s
		}
	}
	return best
}

// safeName keeps a file name usable as an attachment name: no path separators or control
// characters, at most 200 bytes.
func safeName(name, fallback string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if len(name) > 200 {
		name = strings.ToValidUTF8(name[:200], "")
	}
	if name == "" || name == "." || name == ".." {
		return fallback
	}
	return name
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
