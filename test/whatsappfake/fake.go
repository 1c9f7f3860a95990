// Package whatsappfake is a fake of Meta's WhatsApp Business Cloud API for tests, built from
// Meta's documentation (developers.facebook.com/documentation/business-messaging/whatsapp):
//
//   - the webhooks guide and the messages webhook reference: the notification JSON
//     (object whatsapp_business_account, entry[].changes[].value with metadata, contacts,
//     messages, statuses), signed with X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
//     body keyed with the app secret>, and sent again after any answer but 200;
//   - the Messages API: POST /{version}/{phone_number_id}/messages with messaging_product,
//     to, type and the type's object, context.message_id for replies, answered with
//     {"messaging_product","contacts":[{"input","wa_id"}],"messages":[{"id":"wamid..."}]};
//   - the media reference: POST /{version}/{phone_number_id}/media (multipart, answered
//     {"id"}), GET /{version}/{media_id} ({"messaging_product","url","mime_type","sha256",
//     "file_size","id"}, file_size a string), then GET url with the same Bearer token;
//   - the customer-service window: free-form messages only within 24 hours of the user's last
//     message, else error 131047 (re-engagement message); templates at any time;
//   - the error codes reference: errors as {"error":{"message","type","code","error_data":
//     {"messaging_product","details"},"error_subcode","fbtrace_id"}}, 190 for a bad token
//     (401).
//
// The fake keeps everything in memory, records what was sent, and can be told to fail.
package whatsappfake

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Window is the customer-service window the fake enforces.
const Window = 24 * time.Hour

// Options configure a fake.
type Options struct {
	PhoneNumberID string
	AccessToken   string
	AppSecret     string
	// Version is the Graph API version in paths. Default v21.0.
	Version string
	// HookURL is where webhooks go (the gateway's /hooks/{instance}); SetHookURL may set it later.
	HookURL string
	// Client posts the webhooks; nil is http.DefaultClient.
	Client *http.Client
}

// Sent is one message the fake accepted.
type Sent struct {
	ID        string // the wamid the fake gave it
	To        string
	Type      string
	Text      string // text.body, or a media caption
	ReplyTo   string // context.message_id
	MediaID   string
	Media     []byte // the uploaded content of MediaID
	MediaType string
	Filename  string
	Template  string   // template.name
	Params    []string // template body parameters
	At        time.Time
}

// Server is the fake Cloud API.
type Server struct {
	opt Options
	now func() time.Time

	mu       sync.Mutex
	hookURL  string
	lastIn   map[string]time.Time // wa_id -> time of the user's last message
	sent     []Sent
	media    map[string]media
	acked    map[string]bool // message and status IDs in a notification answered 200
	attempts map[string]int  // webhook POSTs of each message or status ID
	faults   []fault
	nextID   int
}

type media struct {
	mimeType string
	data     []byte
}

type fault struct {
	endpoint string // "messages", "media", "download", "phone"
	status   int
	code     int
	msg      string
}

// New returns a fake of opt's phone number.
func New(opt Options) *Server {
	if opt.Version == "" {
		opt.Version = "v21.0"
	}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	return &Server{opt: opt, now: time.Now, hookURL: opt.HookURL, lastIn: map[string]time.Time{},
		media: map[string]media{}, acked: map[string]bool{}, attempts: map[string]int{}}
}

// SetHookURL sets where webhooks go.
func (s *Server) SetHookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL = u
}

// OpenWindow records that wa_id wrote at t, as if a message the gateway already has arrived
// then: the window for free-form replies runs from it.
func (s *Server) OpenWindow(waID string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.After(s.lastIn[waID]) {
		s.lastIn[waID] = t
	}
}

// Fail makes the next request to endpoint ("messages", "media" for uploads, "download" for
// media GETs, "phone" for the phone number) fail with status and Graph error code.
func (s *Server) Fail(endpoint string, status, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{endpoint: endpoint, status: status, code: code, msg: message})
}

func (s *Server) takeFault(endpoint string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.endpoint == endpoint {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return fault{}, false
}

// Sent returns what the fake accepted for wa_id, in order ("" for everyone).
func (s *Server) Sent(waID string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sent
	for _, m := range s.sent {
		if waID == "" || m.To == waID {
			out = append(out, m)
		}
	}
	return out
}

// AddMedia makes content downloadable under a new media ID, which it returns.
func (s *Server) AddMedia(mimeType string, content []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked("media")
	s.media[id] = media{mimeType: mimeType, data: content}
	return id
}

func (s *Server) newIDLocked(kind string) string {
	s.nextID++
	var b [6]byte
	_, _ = rand.Read(b[:])
	if kind == "wamid" {
		return fmt.Sprintf("wamid.FAKE%d%s", s.nextID, hex.EncodeToString(b[:]))
	}
	return fmt.Sprintf("%d%d", 1000000+s.nextID, int(b[0]))
}

// ServeHTTP serves the Graph API endpoints and media downloads.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.opt.AccessToken {
		writeError(w, http.StatusUnauthorized, 190, "OAuthException", "Invalid OAuth access token - Cannot parse access token")
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/download/"); ok && r.Method == http.MethodGet {
		s.serveDownload(w, id)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+s.opt.Version+"/")
	if !ok {
		writeError(w, http.StatusBadRequest, 2500, "OAuthException", "Unknown path components: "+r.URL.Path)
		return
	}
	switch {
	case rest == s.opt.PhoneNumberID && r.Method == http.MethodGet:
		if s.fail(w, "phone") {
			return
		}
		writeJSON(w, map[string]any{"display_phone_number": "+1 555-0100", "verified_name": "Casino Support",
			"quality_rating": "GREEN", "id": s.opt.PhoneNumberID})
	case rest == s.opt.PhoneNumberID+"/messages" && r.Method == http.MethodPost:
		s.serveSend(w, r)
	case rest == s.opt.PhoneNumberID+"/media" && r.Method == http.MethodPost:
		s.serveUpload(w, r)
	case r.Method == http.MethodGet && !strings.Contains(rest, "/"):
		s.serveMediaInfo(w, r, rest)
	default:
		writeError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported "+r.Method+" request")
	}
}

// fail answers with the next injected fault of endpoint, if there is one.
func (s *Server) fail(w http.ResponseWriter, endpoint string) bool {
	f, ok := s.takeFault(endpoint)
	if !ok {
		return false
	}
	writeError(w, f.status, f.code, "OAuthException", f.msg)
	return true
}

func (s *Server) serveMediaInfo(w http.ResponseWriter, r *http.Request, id string) {
	if s.fail(w, "download") {
		return
	}
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, 100, "GraphMethodException",
			fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist", id))
		return
	}
	sum := sha256.Sum256(m.data)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	writeJSON(w, map[string]any{"messaging_product": "whatsapp", "id": id, "mime_type": m.mimeType,
		"sha256": hex.EncodeToString(sum[:]), "file_size": strconv.Itoa(len(m.data)),
		"url": fmt.Sprintf("%s://%s/download/%s?ext=1&hash=signature", scheme, r.Host, id)})
}

func (s *Server) serveDownload(w http.ResponseWriter, id string) {
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	_, _ = w.Write(m.data)
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if s.fail(w, "media") {
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter: "+err.Error())
		return
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.")
		return
	}
	f, h, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter file is required.")
		return
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	mt := r.FormValue("type")
	if mt == "" {
		mt, _, _ = mime.ParseMediaType(h.Header.Get("Content-Type"))
	}
	s.mu.Lock()
	id := s.newIDLocked("media")
	s.media[id] = media{mimeType: mt, data: data}
	s.mu.Unlock()
	writeJSON(w, map[string]string{"id": id})
}

// sendBody is what the fake reads of a message send.
type sendBody struct {
	MessagingProduct string `json:"messaging_product"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *sendMedia `json:"image"`
	Document *sendMedia `json:"document"`
	Audio    *sendMedia `json:"audio"`
	Video    *sendMedia `json:"video"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
}

type sendMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	if s.fail(w, "messages") {
		return
	}
	var b sendBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter")
		return
	}
	switch {
	case b.MessagingProduct != "whatsapp":
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.")
		return
	case b.To == "" || strings.Trim(b.To, "+0123456789") != "":
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter: to")
		return
	}
	m := Sent{To: strings.TrimPrefix(b.To, "+"), Type: b.Type, At: s.now()}
	if b.Context != nil {
		m.ReplyTo = b.Context.MessageID
	}
	var md *sendMedia
	switch b.Type {
	case "text":
		if b.Text == nil || b.Text.Body == "" || len([]rune(b.Text.Body)) > 4096 {
			writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Param text['body'] must be 1 to 4096 characters")
			return
		}
		m.Text = b.Text.Body
	case "image":
		md = b.Image
	case "document":
		md = b.Document
	case "audio":
		md = b.Audio
	case "video":
		md = b.Video
	case "template":
		if b.Template == nil || b.Template.Name == "" {
			writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Param template['name'] is required")
			return
		}
		m.Template = b.Template.Name
		for _, c := range b.Template.Components {
			for _, p := range c.Parameters {
				m.Params = append(m.Params, p.Text)
			}
		}
	default:
		writeError(w, http.StatusBadRequest, 131051, "OAuthException", "(#131051) Unsupported message type")
		return
	}
	if md != nil || b.Type == "image" || b.Type == "document" || b.Type == "audio" || b.Type == "video" {
		if md == nil || md.ID == "" {
			writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Param "+b.Type+"['id'] is required")
			return
		}
		s.mu.Lock()
		content, ok := s.media[md.ID]
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusBadRequest, 131053, "OAuthException", "(#131053) Media upload error")
			return
		}
		m.MediaID, m.Media, m.MediaType, m.Text, m.Filename = md.ID, content.data, content.mimeType, md.Caption, md.Filename
	}
	s.mu.Lock()
	last, wrote := s.lastIn[m.To]
	if b.Type != "template" && (!wrote || s.now().Sub(last) >= Window) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, 131047, "OAuthException",
			"(#131047) Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
		return
	}
	m.ID = s.newIDLocked("wamid")
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"messaging_product": "whatsapp",
		"contacts": []map[string]string{{"input": b.To, "wa_id": m.To}},
		"messages": []map[string]string{{"id": m.ID}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the Graph API's error format.
func writeError(w http.ResponseWriter, status, code int, typ, message string, details ...string) {
	var trace [8]byte
	_, _ = rand.Read(trace[:])
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": hex.EncodeToString(trace[:])}
	if len(details) > 0 {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details[0]}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// ErrorBody is the Graph API's error answer for status, for faults injected in front of the
// fake (httpfault.Transport.Body): the code is the one Meta gives such a failure, so that a
// client classifying by code sees what it would see from Meta.
func ErrorBody(status int, _ string) (contentType string, body []byte) {
	code := map[int]int{
		http.StatusBadRequest:      100,    // invalid parameter
		http.StatusUnauthorized:    190,    // access token expired
		http.StatusForbidden:       10,     // permission denied
		http.StatusTooManyRequests: 130429, // throughput reached
	}[status]
	if code == 0 {
		code = 2 // API service: temporary downtime or overload
		if status < 500 {
			code = 1 // API unknown
		}
	}
	rec := &recorder{header: http.Header{}}
	writeError(rec, status, code, "OAuthException", fmt.Sprintf("(#%d) %s: injected", code, http.StatusText(status)))
	return "application/json", rec.body.Bytes()
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(int)             {}
