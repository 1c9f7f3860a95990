package telegramfake

import (
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
	m := SentMessage{Method: method, ChatID: chatID}
	m.ReplyTo, _ = strconv.Atoi(p.get("reply_to_message_id"))
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
