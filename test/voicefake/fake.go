// Package voicefake is a fake of the voice providers' REST APIs and a client that calls the
// gateway's webhooks as they do, for the voice channel's tests. Built from the providers'
// documentation:
//
//   - Twilio: Message resource (twilio.com/docs/messaging/api/message-resource: POST
//     /2010-04-01/Accounts/{AccountSid}/Messages.json, Basic auth AccountSid:AuthToken, form
//     To, From|MessagingServiceSid, Body, answer 201 with the message in snake_case JSON;
//     errors {"code","message","more_info","status"}, e.g. 21614 "not a valid mobile number"
//     and 21635 "'To' number cannot be a landline", twilio.com/docs/api/errors); Recording
//     media (twilio.com/docs/voice/api/recording: GET the RecordingUrl with .mp3 or .wav
//     appended, same Basic auth); webhook signing (twilio.com/docs/usage/webhooks/
//     webhooks-security: X-Twilio-Signature, HMAC-SHA1 over the full URL and the POST
//     parameters sorted by name, Base64).
//   - Vonage: SMS API (developer.vonage.com/messaging/sms/guides/troubleshooting-sms: POST
//     /sms/json with api_key, api_secret, from, to, text; 200 with {"message-count",
//     "messages":[{"to","message-id","status","error-text"}]}, status "0" sent, non-zero
//     errors); recordings and transcripts downloaded with the application's JWT
//     (developer.vonage.com/voice/voice-api/guides/recording); signed webhooks
//     (developer.vonage.com/getting-started/concepts/webhooks: Authorization: Bearer, HS256
//     with the signature secret, payload_hash = SHA-256 of the body).
package voicefake

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// SMS is one SMS the fake accepted.
type SMS struct {
	ID, From, To, Body string
}

// Server is the fake REST API of both providers.
type Server struct {
	// URL is where the server is reachable (set it after starting an httptest.Server), used in
	// the recording URLs it hands out.
	URL string

	accountSID, authToken   string
	vonageKey, vonageSecret string
	appKey                  *rsa.PublicKey

	mu          sync.Mutex
	recordings  map[string][]byte // by recording ID
	transcripts map[string]string // Vonage transcripts by recording ID
	sms         []SMS
	landlines   map[string]bool
	failures    []failure
	downloads   int
	mux         *http.ServeMux
}

// failure answers the next n requests whose path contains match with status.
type failure struct {
	match  string
	status int
	n      int
}

// New returns a fake of a Twilio account (accountSID, authToken) and a Vonage account
// (apiKey, apiSecret, and the application's public key appKey, which may be nil).
func New(accountSID, authToken, apiKey, apiSecret string, appKey *rsa.PublicKey) *Server {
	s := &Server{accountSID: accountSID, authToken: authToken, vonageKey: apiKey, vonageSecret: apiSecret, appKey: appKey,
		recordings: map[string][]byte{}, transcripts: map[string]string{}, landlines: map[string]bool{}}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.twilioMessage)
	s.mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Recordings/{file}", s.twilioRecording)
	s.mux.HandleFunc("POST /sms/json", s.vonageSMS)
	s.mux.HandleFunc("GET /v1/files/{id}", s.vonageFile)
	s.mux.HandleFunc("GET /v1/files/{id}/transcription", s.vonageTranscript)
	return s
}

// ServeHTTP applies injected failures, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	for i := range s.failures {
		if f := &s.failures[i]; f.n > 0 && strings.Contains(r.URL.Path, f.match) {
			f.n--
			s.mu.Unlock()
			s.twilioError(w, f.status, 20500, "injected failure")
			return
		}
	}
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// Fail makes the next n requests whose path contains match answer status.
func (s *Server) Fail(match string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{match: match, status: status, n: n})
}

// Landline makes SMS to number fail as to a landline.
func (s *Server) Landline(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.landlines[number] = true
}

// AddTwilioRecording stores audio and returns its RecordingUrl as Twilio gives it: without
// a file extension.
func (s *Server) AddTwilioRecording(sid string, audio []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordings[sid] = audio
	return fmt.Sprintf("%s/2010-04-01/Accounts/%s/Recordings/%s", s.URL, s.accountSID, sid)
}

// AddVonageRecording stores audio and its transcript and returns the recording_url and the
// transcription_url.
func (s *Server) AddVonageRecording(id string, audio []byte, transcript string) (recordingURL, transcriptURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordings[id] = audio
	s.transcripts[id] = transcript
	return s.URL + "/v1/files/" + id, s.URL + "/v1/files/" + id + "/transcription"
}

// Downloads counts the recording downloads served successfully.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// Sent returns the SMS sent to number, in order.
func (s *Server) Sent(number string) []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SMS
	for _, m := range s.sms {
		if m.To == number || "+"+m.To == number {
			out = append(out, m)
		}
	}
	return out
}

// twilioError writes Twilio's error body.
func (s *Server) twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

// ErrorBody is Twilio's error body for an injected status (httpfault.Transport.Body).
func ErrorBody(status int, _ string) (string, []byte) {
	b, _ := json.Marshal(map[string]any{"code": 20000 + status, "message": http.StatusText(status), "status": status})
	return "application/json", b
}

func (s *Server) twilioAuth(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.accountSID || pass != s.authToken || r.PathValue("sid") != s.accountSID {
		s.twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	return true
}

func (s *Server) twilioMessage(w http.ResponseWriter, r *http.Request) {
	if !s.twilioAuth(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.twilioError(w, http.StatusBadRequest, 21601, "malformed form")
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	if from == "" {
		from = r.PostForm.Get("MessagingServiceSid")
	}
	switch {
	case to == "":
		s.twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "":
		s.twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		s.twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	s.mu.Lock()
	if s.landlines[to] {
		s.mu.Unlock()
		s.twilioError(w, http.StatusBadRequest, 21614, fmt.Sprintf("'To' number %s is not a valid mobile number", to))
		return
	}
	id := fmt.Sprintf("SM%032d", len(s.sms)+1)
	s.sms = append(s.sms, SMS{ID: id, From: from, To: to, Body: body})
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"sid": id, "account_sid": s.accountSID, "to": to, "from": from,
		"body": body, "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01"})
}

func (s *Server) twilioRecording(w http.ResponseWriter, r *http.Request) {
	if !s.twilioAuth(w, r) {
		return
	}
	file := r.PathValue("file")
	sid, ext, _ := strings.Cut(file, ".")
	types := map[string]string{"mp3": "audio/mpeg", "wav": "audio/x-wav"}
	s.mu.Lock()
	audio, ok := s.recordings[sid]
	if ok {
		s.downloads++
	}
	s.mu.Unlock()
	if !ok || types[ext] == "" {
		s.twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	w.Header().Set("Content-Type", types[ext])
	w.Write(audio)
}

func (s *Server) vonageSMS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, vonageStatus("", "3", "Invalid Parameters"))
		return
	}
	f := r.PostForm
	if f.Get("api_key") != s.vonageKey || f.Get("api_secret") != s.vonageSecret {
		writeJSON(w, http.StatusOK, vonageStatus(f.Get("to"), "4", "Bad Credentials"))
		return
	}
	to := f.Get("to")
	if to == "" || f.Get("from") == "" || f.Get("text") == "" {
		writeJSON(w, http.StatusOK, vonageStatus(to, "2", "Missing Parameters"))
		return
	}
	s.mu.Lock()
	if s.landlines["+"+to] {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, vonageStatus(to, "6", "Unroutable message - rejected"))
		return
	}
	id := fmt.Sprintf("0C%014d", len(s.sms)+1)
	s.sms = append(s.sms, SMS{ID: id, From: f.Get("from"), To: to, Body: f.Get("text")})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"message-count": "1", "messages": []map[string]string{{"to": to,
		"message-id": id, "status": "0", "remaining-balance": "10.00", "message-price": "0.03", "network": "26201"}}})
}

func vonageStatus(to, status, text string) map[string]any {
	return map[string]any{"message-count": "1", "messages": []map[string]string{{"to": to, "status": status, "error-text": text}}}
}

// vonageAuth checks the application JWT (RS256 with the application's key).
func (s *Server) vonageAuth(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && s.appKey != nil {
		_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return s.appKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
		if err == nil {
			return true
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"type": "https://developer.nexmo.com/api-errors#unauthorized",
		"title": "Unauthorized", "detail": "You did not provide correct credentials."})
	return false
}

func (s *Server) vonageFile(w http.ResponseWriter, r *http.Request) {
	if !s.vonageAuth(w, r) {
		return
	}
	s.mu.Lock()
	audio, ok := s.recordings[r.PathValue("id")]
	if ok {
		s.downloads++
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Write(audio)
}

func (s *Server) vonageTranscript(w http.ResponseWriter, r *http.Request) {
	if !s.vonageAuth(w, r) {
		return
	}
	s.mu.Lock()
	text, ok := s.transcripts[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": []map[string]any{{"transcript": []map[string]any{{"sentence": text}}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ClearFailures drops every injected failure still to come.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}
