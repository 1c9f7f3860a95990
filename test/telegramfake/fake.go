// Package telegramfake is a fake Telegram Bot API server for tests, built from the official
// documentation (core.telegram.org/bots/api) and the facts in CONTRACTS.md: the real server's
// routes, error shapes and status codes, getUpdates offset confirmation and long polling,
// webhooks with the secret header, file downloads, and fault injection for flood control and
// blocked chats.
package telegramfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// MaxText is the Bot API's limit on a message's text, in characters.
const MaxText = 4096

// maxDownload is the largest file a bot may download.
const maxDownload = 20 << 20

// Server is the fake. Serve it with httptest.NewServer and point the client's endpoint at
// URL + "/bot%s/%s". Close it after the test server to stop webhook pushes.
type Server struct {
	token string

	mu      sync.Mutex
	updates []queued // pending, ascending update_id
	nextID  int
	wake    chan struct{} // closed and replaced when an update is added
	webhook webhook
	files   map[string]file
	sent    map[int64][]SentMessage
	nextMsg map[int64]int
	blocked map[int64]bool
	fail    int
	failRA  int
	calls   map[string]int
	actions map[int64][]string
	closed  chan struct{}
	pushing bool
	// refuseHook, when set, is the description setWebhook fails with (400).
	refuseHook string
	// revoked makes every call answer 401, as after the token is revoked at @BotFather.
	revoked bool
	// downloads are the request URIs of file downloads, as they arrived.
	downloads []string
	// handedOut is when each update was first answered to getUpdates or pushed to the
	// webhook: where a load run's end-to-end latency starts.
	handedOut map[int]time.Time
	// active is the getUpdates in flight, nil when none; polls is when each arrived, and
	// overlaps counts those that arrived while another was in flight (pollers.go).
	active   *poll
	polls    []time.Time
	overlaps int
}

type queued struct {
	id  int
	raw json.RawMessage
}

type webhook struct {
	url, secret string
}

type file struct {
	id, path, name string
	data           []byte
	size           int
}

// SentMessage is one message the bot sent.
type SentMessage struct {
	Method    string // sendMessage, sendPhoto, sendDocument
	ChatID    int64
	MessageID int
	Text      string // text or caption
	ReplyTo   int
	FileName  string
	FileData  []byte
	FileID    string // when a file was sent by ID instead of uploaded
	// Markup is the reply_markup sent with the message, decoded; nil when none was sent.
	Markup *Markup
	// At is when the fake accepted the message.
	At time.Time
}

// Markup is a reply keyboard (ReplyKeyboardMarkup) or its removal (ReplyKeyboardRemove), the
// two reply_markup kinds the gateway sends; the Bot API tells them apart by their fields.
type Markup struct {
	Keyboard       [][]tgbotapi.KeyboardButton `json:"keyboard"`
	OneTime        bool                        `json:"one_time_keyboard"`
	RemoveKeyboard bool                        `json:"remove_keyboard"`
}

// New returns a fake that accepts token.
func New(token string) *Server {
	return &Server{
		token: token, nextID: 1, wake: make(chan struct{}), files: map[string]file{},
		sent: map[int64][]SentMessage{}, nextMsg: map[int64]int{}, blocked: map[int64]bool{},
		calls: map[string]int{}, actions: map[int64][]string{}, closed: make(chan struct{}),
		handedOut: map[int]time.Time{},
	}
}

// Close stops webhook pushes.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
}

// AddUpdate queues u, assigning the next update_id, and returns that ID. A message's
// message_id is assigned per chat when zero, so tests need not count; it is written into
// u's message, so a test can queue the same message again or predict the bot's IDs for it.
func (s *Server) AddUpdate(u tgbotapi.Update) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.UpdateID = s.nextID
	s.nextID++
	for _, m := range []*tgbotapi.Message{u.Message, u.EditedMessage} {
		if m != nil && m.MessageID == 0 && m.Chat != nil {
			s.nextMsg[m.Chat.ID]++
			m.MessageID = s.nextMsg[m.Chat.ID]
		}
	}
	raw, err := json.Marshal(u)
	if err != nil {
		panic("telegramfake: update does not marshal: " + err.Error())
	}
	s.updates = append(s.updates, queued{id: u.UpdateID, raw: raw})
	close(s.wake)
	s.wake = make(chan struct{})
	return u.UpdateID
}

// Pending returns how many updates are not yet confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// Confirmed reports whether the update id was queued and is confirmed: a getUpdates with a
// higher offset, or a 2xx answer to its webhook push, told Telegram the bot has it, so it is
// never sent again.
func (s *Server) Confirmed(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id <= 0 || id >= s.nextID {
		return false
	}
	for _, u := range s.updates {
		if u.id == id {
			return false
		}
	}
	return true
}

// HandedOut returns when each update was first handed to the bot (a getUpdates answer or a
// webhook push), by update_id; an update never handed out is absent. A later hand-out of the
// same update, after the bot failed to confirm it, keeps the first time.
func (s *Server) HandedOut() map[int]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]time.Time, len(s.handedOut))
	for id, at := range s.handedOut {
		out[id] = at
	}
	return out
}

// markHandedOut records now as the first hand-out of id. Callers hold mu.
func (s *Server) markHandedOut(id int, now time.Time) {
	if _, ok := s.handedOut[id]; !ok {
		s.handedOut[id] = now
	}
}

// ErrorBody is the Bot API's answer to a failed call with status (and retry_after, when
// retryAfter is a number of seconds), for faults injected in front of the fake (see
// httpfault.Transport.Body): the bot reads the error from the body, not from the status line.
func ErrorBody(status int, retryAfter string) (contentType string, body []byte) {
	rep := reply{ErrorCode: status, Description: fmt.Sprintf("%d %s: injected", status, http.StatusText(status))}
	if secs, err := strconv.Atoi(retryAfter); err == nil && secs > 0 {
		rep.Parameters = &map[string]int{"retry_after": secs}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		panic("telegramfake: error body does not marshal: " + err.Error())
	}
	return "application/json", b
}

// AddFile makes a file downloadable under id and returns its file_path.
func (s *Server) AddFile(id, name string, data []byte) string {
	return s.addFile(id, name, data, len(data))
}

// AddBigFile registers a file whose reported size is size, without content; getFile refuses
// it as Telegram does for files over 20 MB.
func (s *Server) AddBigFile(id, name string, size int) {
	s.addFile(id, name, nil, size)
}

func (s *Server) addFile(id, name string, data []byte, size int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := fmt.Sprintf("documents/file_%d_%s", len(s.files), name)
	s.files[id] = file{id: id, path: path, name: name, data: data, size: size}
	return path
}

// Sent returns what the bot sent to chatID, in order.
func (s *Server) Sent(chatID int64) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent[chatID]...)
}

// ChatActions returns the actions (typing, upload_document, ...) sent to chatID by
// sendChatAction, in order. Refused calls are not recorded.
func (s *Server) ChatActions(chatID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.actions[chatID]...)
}

// Blocked makes chatID's player block the bot: sends answer 403.
func (s *Server) Blocked(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// FailSends makes the next n sends answer 429 with retry_after.
func (s *Server) FailSends(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.failRA = n, retryAfter
}

// Calls returns how often method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// RefuseWebhooks makes setWebhook fail with 400 and desc, as Telegram does for a URL it
// cannot use (not HTTPS, an unsupported port).
func (s *Server) RefuseWebhooks(desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseHook = desc
}

// Webhook returns the webhook URL and secret set, empty when none.
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook.url, s.webhook.secret
}

// Revoke makes the fake refuse the token with 401 (on) or accept it again (off), as when an
// operator revokes a bot's token and issues it again.
func (s *Server) Revoke(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = on
}

// ServeHTTP routes /bot<token>/<method> and /file/bot<token>/<path>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.mu.Lock()
		s.downloads = append(s.downloads, r.RequestURI)
		s.mu.Unlock()
		s.download(w, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	if !ok {
		fail(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	if !ok || token != s.token || revoked {
		fail(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	p, err := params(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
	switch method {
	case "getMe":
		ok200(w, tgbotapi.User{ID: 1, IsBot: true, FirstName: "Fake", UserName: "fake_bot"})
	case "getUpdates":
		s.getUpdates(w, r, p)
	case "setWebhook":
		s.setWebhook(w, p)
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook = webhook{}
		s.mu.Unlock()
		ok200(w, true)
	case "getFile":
		s.getFile(w, p)
	case "sendMessage", "sendPhoto", "sendDocument":
		s.send(w, method, p)
	case "sendChatAction":
		s.sendChatAction(w, p)
	default:
		fail(w, http.StatusNotFound, "Not Found: method not found", 0)
	}
}

// reply is the Bot API's response envelope.
type reply struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *map[string]int `json:"parameters,omitempty"`
}

func ok200(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply{OK: true, Result: result})
}

// fail answers like the real server: HTTP status equal to error_code, and for 429 the
// retry_after parameter and a Retry-After header.
func fail(w http.ResponseWriter, code int, desc string, retryAfter int) {
	rep := reply{ErrorCode: code, Description: desc}
	if retryAfter > 0 {
		rep.Parameters = &map[string]int{"retry_after": retryAfter}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}

// sleepOrClose waits d unless the fake closes first.
func (s *Server) sleepOrClose(d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-s.closed:
		return false
	}
}
