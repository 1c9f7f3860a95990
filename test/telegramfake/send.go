package telegramfake

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/jpeg" // photos are decoded for their dimensions only
	_ "image/png"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// send records sendMessage, sendPhoto and sendDocument, enforcing the text limits and the
// injected faults.
func (s *Server) send(w http.ResponseWriter, method string, p request) {
	chatID, err := strconv.ParseInt(p.get("chat_id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		fail(w, http.StatusTooManyRequests, "Too Many Requests: retry after "+strconv.Itoa(s.failRA), s.failRA)
		return
	}
	if s.blocked[chatID] {
		fail(w, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
		return
	}
	m := SentMessage{Method: method, ChatID: chatID, At: time.Now()}
	m.ReplyTo, _ = strconv.Atoi(p.get("reply_to_message_id"))
	if raw := p.get("reply_markup"); raw != "" {
		// The real server's answer to a reply_markup that does not decode as a JSON object.
		m.Markup = new(Markup)
		if json.Unmarshal([]byte(raw), m.Markup) != nil {
			fail(w, http.StatusBadRequest, "Bad Request: can't parse reply keyboard markup JSON object", 0)
			return
		}
	}
	switch method {
	case "sendMessage":
		m.Text = p.get("text")
		switch n := utf8.RuneCountInString(m.Text); {
		case n == 0:
			fail(w, http.StatusBadRequest, "Bad Request: message text is empty", 0)
			return
		case n > MaxText:
			fail(w, http.StatusBadRequest, "Bad Request: message is too long", 0)
			return
		}
	default:
		field := "photo"
		if method == "sendDocument" {
			field = "document"
		}
		m.Text = p.get("caption")
		if utf8.RuneCountInString(m.Text) > 1024 {
			fail(w, http.StatusBadRequest, "Bad Request: message caption is too long", 0)
			return
		}
		if f, ok := p.files[field]; ok {
			if method == "sendPhoto" && !photoDimensionsOK(f.data) {
				fail(w, http.StatusBadRequest, "Bad Request: PHOTO_INVALID_DIMENSIONS", 0)
				return
			}
			m.FileName, m.FileData = f.name, f.data
		} else if id := p.get(field); id != "" {
			m.FileID = id
		} else {
			fail(w, http.StatusBadRequest, "Bad Request: there is no "+field+" in the request", 0)
			return
		}
	}
	s.nextMsg[chatID]++
	m.MessageID = s.nextMsg[chatID]
	s.sent[chatID] = append(s.sent[chatID], m)
	ok200(w, tgbotapi.Message{MessageID: m.MessageID, Date: int(time.Now().Unix()),
		Chat: &tgbotapi.Chat{ID: chatID, Type: "private"}, Text: p.get("text"), Caption: p.get("caption")})
}

// chatActions are the actions sendChatAction accepts.
var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true, "record_voice": true,
	"upload_voice": true, "upload_document": true, "choose_sticker": true, "find_location": true,
	"record_video_note": true, "upload_video_note": true,
}

// sendChatAction records a chat action. Like the real server it answers 403 for a chat whose
// player blocked the bot; injected 429s (FailSends) apply to messages only.
func (s *Server) sendChatAction(w http.ResponseWriter, p request) {
	chatID, err := strconv.ParseInt(p.get("chat_id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
		return
	}
	action := p.get("action")
	if !chatActions[action] {
		fail(w, http.StatusBadRequest, "Bad Request: wrong parameter action in request", 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked[chatID] {
		fail(w, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
		return
	}
	s.actions[chatID] = append(s.actions[chatID], action)
	ok200(w, true)
}

// photoDimensionsOK applies sendPhoto's documented limits: width and height at most 10000 in
// total, and a side ratio of at most 20. Content the standard library cannot decode passes:
// the fake does not model IMAGE_PROCESS_FAILED, so tests may upload placeholder bytes.
func photoDimensionsOK(data []byte) bool {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return true
	}
	w, h := cfg.Width, cfg.Height
	return w > 0 && h > 0 && w+h <= 10000 && w <= 20*h && h <= 20*w
}
