package voice_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/casino-support/gateway/test/voicefake"
)

// BenchmarkIncomingCallback is the per-call cost of the voice channel's first callback: a
// Twilio form POST checked against its signature, parsed, and answered with the menu's TwiML.
func BenchmarkIncomingCallback(b *testing.B) {
	line := fuzzLine(b, "twilio")
	target := "http://gateway.test/hooks/voice"
	form := url.Values{"CallSid": {"CA1"}, "AccountSid": {"AC1"}, "From": {"+4915112345678"}, "To": {lineNumber},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}}
	body := form.Encode()
	sig := voicefake.Sign(authToken, target, form)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		rec := httptest.NewRecorder()
		line.ch.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("answered %d: %s", rec.Code, rec.Body)
		}
	}
}
