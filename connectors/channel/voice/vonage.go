package voice

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/casino-support/gateway/connectors"
)

// Vonage (developer.vonage.com/voice/voice-api/ncco-reference, /voice/voice-api/guides/recording,
// /getting-started/concepts/webhooks "Signed webhooks", /messaging/sms). Webhooks are JSON
// (the answer webhook may be a GET with query parameters), signed with
// "Authorization: Bearer <JWT>", HS256 with the account's signature secret, whose optional
// payload_hash claim is the SHA-256 of the body.

// parsePrivateKey reads the application's RSA private key (PEM).
func parsePrivateKey(pem string) (*rsa.PrivateKey, error) {
	if strings.TrimSpace(pem) == "" {
		return nil, errors.New("required")
	}
	return jwt.ParseRSAPrivateKeyFromPEM([]byte(pem))
}

// VonageSignature returns the signed-webhook JWT Vonage sends with body: HS256 over iat, jti,
// iss and payload_hash with the signature secret. Tests and the fake sign with it.
func VonageSignature(secret string, body []byte, iat time.Time) (string, error) {
	sum := sha256.Sum256(body)
	claims := jwt.MapClaims{"iat": iat.Unix(), "jti": rand.Text(), "iss": "Vonage", "payload_hash": hex.EncodeToString(sum[:])}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// verifyVonage checks the signed webhook's JWT: HS256 only (a token naming another
// algorithm, "none" above all, is refused), the signature secret, iat not in the future, and
// the body's hash when the token carries one.
func (c *Channel) verifyVonage(r *http.Request, body []byte) error {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return errors.New("no Authorization: Bearer token")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) {
		return []byte(c.cfg.Vonage.SignatureSecret.Value()), nil
	}, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuedAt(), jwt.WithLeeway(time.Minute))
	if err != nil {
		return fmt.Errorf("JWT: %w", err)
	}
	if ph, ok := claims["payload_hash"].(string); ok {
		sum := sha256.Sum256(body)
		if !hmac.Equal([]byte(strings.ToLower(ph)), []byte(hex.EncodeToString(sum[:]))) {
			return errors.New("payload_hash does not match the body")
		}
	}
	return nil
}

// applicationJWT signs the token that downloads recordings and transcripts: RS256 with the
// application's private key.
func (c *Channel) applicationJWT() (string, error) {
	now := c.now()
	claims := jwt.MapClaims{"application_id": c.cfg.Vonage.ApplicationID, "iat": now.Unix(),
		"exp": now.Add(15 * time.Minute).Unix(), "jti": rand.Text()}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(c.vonageKey)
	if err != nil {
		return "", fmt.Errorf("sign the application JWT: %w", err)
	}
	return tok, nil
}

// vonageEvent is the union of the webhook bodies the line takes.
type vonageEvent struct {
	From             string `json:"from"`
	To               string `json:"to"`
	UUID             string `json:"uuid"`
	ConversationUUID string `json:"conversation_uuid"`
	Status           string `json:"status"`
	Direction        string `json:"direction"`
	Duration         string `json:"duration"`
	DTMF             *struct {
		Digits   string `json:"digits"`
		TimedOut bool   `json:"timed_out"`
	} `json:"dtmf"`
	RecordingURL     string `json:"recording_url"`
	RecordingUUID    string `json:"recording_uuid"`
	StartTime        string `json:"start_time"`
	EndTime          string `json:"end_time"`
	TranscriptionURL string `json:"transcription_url"`
}

// ParseVonageEvent reads a Vonage webhook's JSON body.
func ParseVonageEvent(body []byte) (vonageEvent, error) {
	var ev vonageEvent
	if len(body) == 0 {
		return ev, nil
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	return ev, nil
}

// serveVonage verifies and routes Vonage's requests.
func (c *Channel) serveVonage(w http.ResponseWriter, r *http.Request, sub string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForm))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := c.verifyVonage(r, body); err != nil {
		c.reject(w, r, err)
		return
	}
	ev, err := ParseVonageEvent(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch sub {
	case "": // the answer webhook, GET with query parameters or POST with JSON
		if q := r.URL.Query(); ev.ConversationUUID == "" {
			ev.From, ev.To, ev.UUID, ev.ConversationUUID = q.Get("from"), q.Get("to"), q.Get("uuid"), q.Get("conversation_uuid")
		}
		c.writeNCCO(w, c.vonageAnswer(ev))
		return
	case "/event": // the application's event URL: call status
		c.answerStored(w, c.vonageStatus(r.Context(), ev))
		return
	}
	k, ok := c.callContext(w, r)
	if !ok {
		return
	}
	switch sub {
	case "/menu":
		c.writeNCCO(w, c.vonageMenuChoice(r.Context(), k, ev))
	case "/dialed":
		c.vonageDialed(w, r.Context(), k, ev)
	case "/recording":
		c.answerStored(w, c.vonageRecording(r.Context(), k, ev))
	case "/transcription":
		if ev.RecordingUUID == "" || ev.TranscriptionURL == "" {
			c.answerStored(w, fmt.Errorf("%w: no recording_uuid or transcription_url", errBadRequest))
			return
		}
		c.answerStored(w, c.transcriptURLArrived(r.Context(), k, ev.RecordingUUID, ev.TranscriptionURL))
	default:
		http.NotFound(w, r)
	}
}

// ncco is a Call Control Object: the actions in order.
type ncco []map[string]any

func (c *Channel) writeNCCO(w http.ResponseWriter, n ncco) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(n)
}

func talk(p phrases, text string) map[string]any {
	return map[string]any{"action": "talk", "text": text, "language": p.say}
}

// vonageRecord is the voicemail: the prompt, the record action with its callbacks, thanks.
func (c *Channel) vonageRecord(k caller, p phrases) ncco {
	rec := map[string]any{"action": "record", "eventUrl": []string{c.callbackURL("/recording", k)},
		"endOnKey": "#", "beepStart": true, "timeOut": int(c.cfg.MaxRecording / time.Second), "endOnSilence": 5, "format": "mp3"}
	if c.cfg.Transcribe {
		rec["transcription"] = map[string]any{"eventUrl": []string{c.callbackURL("/transcription", k)}, "language": p.say}
	}
	return ncco{talk(p, p.record), rec, talk(p, p.thanks)}
}

// vonageAnswer answers an incoming call at once, from the configuration alone.
func (c *Channel) vonageAnswer(ev vonageEvent) ncco {
	k := c.identify(ev.ConversationUUID, plus(ev.From), plus(ev.To))
	_, p := textsFor(k.lang)
	c.log.Info("voice: incoming call", "call", k.call, "conv", address(k.from, k.call), "lang", k.lang, "open", k.inHours)
	switch {
	case k.vip != nil && k.vip.forwardTo != "" && k.inHours:
		return ncco{talk(p, p.forward), {"action": "connect", "timeout": forwardTimeout, "eventType": "synchronous",
			"eventUrl": []string{c.callbackURL("/dialed", k)},
			"endpoint": []map[string]any{{"type": "phone", "number": strings.TrimPrefix(k.vip.forwardTo, "+")}}}}
	case !k.inHours:
		return append(ncco{talk(p, strings.ReplaceAll(p.closed, "{hours}", k.line.hours.spoken(p)))}, c.vonageRecord(k, p)...)
	case k.line.menu:
		return ncco{{"action": "talk", "text": p.welcome + " " + p.menu, "language": p.say, "bargeIn": true},
			{"action": "input", "type": []string{"dtmf"}, "dtmf": map[string]any{"maxDigits": 1, "timeOut": 6},
				"eventUrl": []string{c.callbackURL("/menu", k)}}}
	}
	return append(ncco{talk(p, p.welcome)}, c.vonageRecord(k, p)...)
}

// plus writes Vonage's numbers (digits only) in E.164.
func plus(n string) string {
	if n != "" && !strings.HasPrefix(n, "+") && strings.Trim(n, "0123456789") == "" {
		return "+" + n
	}
	return n
}

// vonageMenuChoice answers the menu's input: 2 stores a call-back request, anything else (or
// nothing) leads to the voicemail.
func (c *Channel) vonageMenuChoice(ctx context.Context, k caller, ev vonageEvent) ncco {
	_, p := textsFor(k.lang)
	if ev.DTMF != nil && ev.DTMF.Digits == "2" {
		if err := c.callbackRequested(ctx, k); err == nil {
			return ncco{talk(p, p.callback)}
		}
	}
	return c.vonageRecord(k, p)
}

// vonageDialed answers the forward's events: answered ends the matter; unanswered, busy,
// timeout, failed and rejected fall back to the voicemail (the connect action's
// eventType synchronous makes Vonage run the NCCO answered here).
func (c *Channel) vonageDialed(w http.ResponseWriter, ctx context.Context, k caller, ev vonageEvent) {
	switch ev.Status {
	case "answered", "completed":
		c.markHandled(ctx, k.call)
		w.WriteHeader(http.StatusNoContent)
	case "unanswered", "busy", "timeout", "failed", "rejected", "cancelled":
		c.log.Info("voice: forward not answered, voicemail instead", "call", k.call, "status", ev.Status)
		_, p := textsFor(k.lang)
		c.writeNCCO(w, c.vonageRecord(k, p))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// vonageRecording takes the record action's event.
func (c *Channel) vonageRecording(ctx context.Context, k caller, ev vonageEvent) error {
	if ev.RecordingUUID == "" || ev.RecordingURL == "" {
		return fmt.Errorf("%w: no recording_uuid or recording_url", errBadRequest)
	}
	secs := 0
	start, err1 := time.Parse(time.RFC3339, ev.StartTime)
	end, err2 := time.Parse(time.RFC3339, ev.EndTime)
	if err1 == nil && err2 == nil {
		secs = int(end.Sub(start) / time.Second)
	}
	return c.recordingArrived(ctx, k, ev.RecordingUUID, ev.RecordingURL, secs, c.cfg.Transcribe)
}

// vonageStatus takes the application's call-status events of inbound legs.
func (c *Channel) vonageStatus(ctx context.Context, ev vonageEvent) error {
	if ev.Direction == "outbound" {
		return nil // the forward's leg; its outcome comes to /dialed
	}
	k := c.identify(ev.ConversationUUID, plus(ev.From), plus(ev.To))
	if k.call == "" {
		return nil
	}
	switch ev.Status {
	case "completed":
		secs := 0
		fmt.Sscanf(ev.Duration, "%d", &secs)
		return c.callEnded(ctx, k, secs)
	case "busy", "cancelled", "unanswered", "rejected", "failed", "timeout":
		return c.callMissed(ctx, k, ev.Status)
	}
	return nil
}

// vonageTranscript is the transcript document Vonage keeps at transcription_url.
type vonageTranscript struct {
	Channels []struct {
		Transcript []struct {
			Sentence string `json:"sentence"`
		} `json:"transcript"`
	} `json:"channels"`
}

// fetchTranscript fetches a Vonage transcript and records it, or a later try.
func (c *Channel) fetchTranscript(ctx context.Context, p *pendingVoicemail) error {
	v := &p.v
	text, err := c.getTranscript(ctx, v.TranscriptURL)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case err == nil:
		v.Transcript, v.TranscriptDone = text, true
	case connectors.IsPermanent(err) || v.Attempts+1 >= c.maxAttempts:
		v.TranscriptDone, v.TranscriptFailed = true, true
		c.log.Error("voice: transcript could not be fetched", "recording", v.Recording, "err", err)
	default:
		v.Attempts++
		v.NextTry = c.now().Add(c.backoff(v.Attempts)).UTC()
	}
	return c.saveState(ctx, p)
}

func (c *Channel) getTranscript(ctx context.Context, raw string) (string, error) {
	resp, err := c.fetchMedia(ctx, raw)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var doc vonageTranscript
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", connectors.Permanent(fmt.Errorf("transcript: %w", err))
	}
	var parts []string
	for _, ch := range doc.Channels {
		for _, s := range ch.Transcript {
			if s := strings.TrimSpace(s.Sentence); s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, " "), nil
}
