package voice

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Twilio (twilio.com/docs/usage/webhooks/webhooks-security, /docs/voice/twiml/record,
// /docs/voice/twiml/gather, /docs/voice/twiml/dial, /docs/usage/webhooks/voice-webhooks).

// maxForm bounds a callback's form; Twilio's are a few KiB.
const maxForm = 64 << 10

// TwilioSignature computes X-Twilio-Signature as Twilio does: the full URL it requested,
// then each POST parameter's name and value, sorted by name, no separators; HMAC-SHA1 keyed
// with the auth token; standard Base64.
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	}) {
		vals := slices.Clone(form[k])
		slices.Sort(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

var errNoSignature = errors.New("no X-Twilio-Signature header")

// verifyTwilio checks r's signature over the URL Twilio requested (hook_url's scheme and
// host, the request's path below it and its query) and form, in constant time. Like the
// official validators it also accepts the URL with the default port added or removed, since
// Twilio's signing depends on how the URL was configured.
func (c *Channel) verifyTwilio(r *http.Request, sub string, form url.Values) error {
	got := r.Header.Get("X-Twilio-Signature")
	if got == "" {
		return errNoSignature
	}
	u := *c.hookURL
	u.Path += sub
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	for _, candidate := range portVariants(u) {
		want := TwilioSignature(c.cfg.Twilio.AuthToken.Value(), candidate, form)
		if hmac.Equal([]byte(want), []byte(got)) {
			return nil
		}
	}
	return errors.New("X-Twilio-Signature does not match")
}

// portVariants returns u as written, and with its scheme's default port added or removed.
func portVariants(u url.URL) []string {
	out := []string{u.String()}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	switch port := u.Port(); {
	case port == "" && def != "":
		v := u
		v.Host = u.Hostname() + ":" + def
		out = append(out, v.String())
	case port == def:
		v := u
		v.Host = u.Hostname()
		out = append(out, v.String())
	}
	return out
}

// serveTwilio verifies and routes Twilio's requests.
func (c *Channel) serveTwilio(w http.ResponseWriter, r *http.Request, sub string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only (set the webhooks to HTTP POST)", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	form := r.PostForm
	if err := c.verifyTwilio(r, sub, form); err != nil {
		c.reject(w, r, err)
		return
	}
	if sub == "" {
		c.twilioIncoming(w, form)
		return
	}
	if sub == "/status" { // configured on the number: the call context is not in its URL
		c.answerStored(w, c.twilioStatus(r, form))
		return
	}
	k, ok := c.callContext(w, r)
	if !ok {
		return
	}
	switch sub {
	case "/menu":
		c.writeTwiML(w, c.twilioMenuChoice(r, k, form.Get("Digits")))
	case "/dialed":
		c.writeTwiML(w, c.twilioDialed(r, k, form.Get("DialCallStatus")))
	case "/recorded":
		c.writeTwiML(w, c.twilioRecorded(r, k, form))
	case "/recording":
		c.answerStored(w, c.twilioRecording(r, k, form))
	case "/transcription":
		c.answerStored(w, c.twilioTranscription(r, k, form))
	default:
		http.NotFound(w, r)
	}
}

// twiml is a TwiML <Response>: the verbs in order.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []any
}

type say struct {
	XMLName  xml.Name `xml:"Say"`
	Language string   `xml:"language,attr,omitempty"`
	Text     string   `xml:",chardata"`
}

type gather struct {
	XMLName   xml.Name `xml:"Gather"`
	Action    string   `xml:"action,attr"`
	Method    string   `xml:"method,attr"`
	NumDigits int      `xml:"numDigits,attr"`
	Timeout   int      `xml:"timeout,attr"`
	Say       say
}

type record struct {
	XMLName                      xml.Name `xml:"Record"`
	Action                       string   `xml:"action,attr"`
	Method                       string   `xml:"method,attr"`
	MaxLength                    int      `xml:"maxLength,attr"`
	FinishOnKey                  string   `xml:"finishOnKey,attr"`
	PlayBeep                     bool     `xml:"playBeep,attr"`
	RecordingStatusCallback      string   `xml:"recordingStatusCallback,attr"`
	RecordingStatusCallbackEvent string   `xml:"recordingStatusCallbackEvent,attr"`
	Transcribe                   bool     `xml:"transcribe,attr,omitempty"`
	TranscribeCallback           string   `xml:"transcribeCallback,attr,omitempty"`
}

type dial struct {
	XMLName xml.Name `xml:"Dial"`
	Action  string   `xml:"action,attr"`
	Method  string   `xml:"method,attr"`
	Timeout int      `xml:"timeout,attr"`
	Number  string   `xml:"Number"`
}

type hangup struct {
	XMLName xml.Name `xml:"Hangup"`
}

// twilioTranscribeLimit is the longest recording Twilio transcribes.
const twilioTranscribeLimit = 2 * time.Minute

// forwardTimeout is how long a VIP's manager's phone rings before the voicemail takes over.
const forwardTimeout = 20

func (c *Channel) writeTwiML(w http.ResponseWriter, t twiml) {
	out, err := xml.Marshal(t)
	if err != nil { // the types above always marshal
		http.Error(w, "TwiML: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(out)
}

// twilioIncoming answers an incoming call at once, from the configuration alone: Twilio
// waits for this answer with the caller on the line.
func (c *Channel) twilioIncoming(w http.ResponseWriter, form url.Values) {
	k := c.identify(form.Get("CallSid"), form.Get("From"), form.Get("To"))
	_, p := textsFor(k.lang)
	c.log.Info("voice: incoming call", "call", k.call, "conv", address(k.from, k.call), "lang", k.lang, "open", k.inHours)
	var t twiml
	switch {
	case k.vip != nil && k.vip.forwardTo != "" && k.inHours:
		t.Verbs = append(t.Verbs, say{Language: p.say, Text: p.forward},
			dial{Action: c.callbackURL("/dialed", k), Method: http.MethodPost, Timeout: forwardTimeout, Number: k.vip.forwardTo})
	case !k.inHours:
		t.Verbs = append(t.Verbs, say{Language: p.say, Text: strings.ReplaceAll(p.closed, "{hours}", k.line.hours.spoken(p))})
		t.Verbs = append(t.Verbs, c.twilioRecord(k, p)...)
	case k.line.menu:
		t.Verbs = append(t.Verbs, gather{Action: c.callbackURL("/menu", k), Method: http.MethodPost, NumDigits: 1, Timeout: 6,
			Say: say{Language: p.say, Text: p.welcome + " " + p.menu}})
		// No key pressed: Twilio goes on with the next verb, the voicemail.
		t.Verbs = append(t.Verbs, c.twilioRecord(k, p)...)
	default:
		t.Verbs = append(t.Verbs, say{Language: p.say, Text: p.welcome})
		t.Verbs = append(t.Verbs, c.twilioRecord(k, p)...)
	}
	c.writeTwiML(w, t)
}

// twilioRecord is the voicemail: the prompt, then <Record> with its callbacks.
func (c *Channel) twilioRecord(k caller, p phrases) []any {
	rec := record{Action: c.callbackURL("/recorded", k), Method: http.MethodPost,
		MaxLength: int(c.cfg.MaxRecording / time.Second), FinishOnKey: "#", PlayBeep: true,
		RecordingStatusCallback: c.callbackURL("/recording", k), RecordingStatusCallbackEvent: "completed absent"}
	if c.twilioTranscribes() {
		rec.Transcribe, rec.TranscribeCallback = true, c.callbackURL("/transcription", k)
	}
	return []any{say{Language: p.say, Text: p.record}, rec}
}

// twilioTranscribes says whether Twilio is asked for transcripts: only for recordings it
// transcribes at all.
func (c *Channel) twilioTranscribes() bool {
	return c.cfg.Transcribe && c.cfg.MaxRecording <= twilioTranscribeLimit
}

// twilioMenuChoice answers a key pressed in the menu: 2 stores a call-back request before the
// caller hears it is taken; anything else leads to the voicemail.
func (c *Channel) twilioMenuChoice(r *http.Request, k caller, digits string) twiml {
	_, p := textsFor(k.lang)
	if digits == "2" {
		if err := c.callbackRequested(r.Context(), k); err == nil {
			return twiml{Verbs: []any{say{Language: p.say, Text: p.callback}, hangup{}}}
		}
		// Not stored: the caller can still leave a voicemail, which is kept until it is.
	}
	return twiml{Verbs: c.twilioRecord(k, p)}
}

// twilioDialed answers the end of a VIP's forward: answered, the call is over; otherwise the
// caller gets the voicemail.
func (c *Channel) twilioDialed(r *http.Request, k caller, status string) twiml {
	if status == "completed" || status == "answered" {
		c.markHandled(r.Context(), k.call)
		return twiml{Verbs: []any{hangup{}}}
	}
	c.log.Info("voice: forward not answered, voicemail instead", "call", k.call, "status", status)
	_, p := textsFor(k.lang)
	return twiml{Verbs: c.twilioRecord(k, p)}
}

// twilioRecorded is <Record>'s action: the voicemail is over. Its recording arrives by the
// recording-status callback, once Twilio made it downloadable.
func (c *Channel) twilioRecorded(r *http.Request, k caller, form url.Values) twiml {
	if form.Get("RecordingSid") != "" {
		c.markHandled(r.Context(), k.call)
	}
	_, p := textsFor(k.lang)
	return twiml{Verbs: []any{say{Language: p.say, Text: p.thanks}, hangup{}}}
}

// twilioRecording takes the recording-status callback.
func (c *Channel) twilioRecording(r *http.Request, k caller, form url.Values) error {
	rec, status := form.Get("RecordingSid"), form.Get("RecordingStatus")
	if rec == "" {
		return fmt.Errorf("%w: no RecordingSid", errBadRequest)
	}
	if status != "completed" {
		c.log.Info("voice: recording without audio", "call", k.call, "recording", rec, "status", status)
		return nil // absent (silence) or failed: the call's end tells the agents
	}
	secs, _ := strconv.Atoi(form.Get("RecordingDuration"))
	return c.recordingArrived(r.Context(), k, rec, form.Get("RecordingUrl")+".mp3", secs,
		c.twilioTranscribes() && time.Duration(secs)*time.Second <= twilioTranscribeLimit)
}

// twilioTranscription takes the transcribeCallback.
func (c *Channel) twilioTranscription(r *http.Request, k caller, form url.Values) error {
	rec := form.Get("RecordingSid")
	if rec == "" {
		return fmt.Errorf("%w: no RecordingSid", errBadRequest)
	}
	ok := form.Get("TranscriptionStatus") == "completed"
	return c.transcriptArrived(r.Context(), k, rec, form.Get("TranscriptionText"), ok)
}

// twilioStatus takes the call-status callback configured on the number.
func (c *Channel) twilioStatus(r *http.Request, form url.Values) error {
	k := c.identify(form.Get("CallSid"), form.Get("From"), form.Get("To"))
	if k.call == "" {
		return fmt.Errorf("%w: no CallSid", errBadRequest)
	}
	secs, _ := strconv.Atoi(form.Get("CallDuration"))
	switch status := form.Get("CallStatus"); status {
	case "completed":
		return c.callEnded(r.Context(), k, secs)
	case "busy", "no-answer", "failed", "canceled":
		return c.callMissed(r.Context(), k, status)
	}
	return nil // queued, ringing, in-progress: nothing to tell yet
}
