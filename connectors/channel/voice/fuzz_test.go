package voice_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/voicefake"
)

// FuzzCallbacks feeds arbitrary bodies, correctly signed so they get past the signature
// check, to every callback of both providers: the form and JSON parsers and what reads them
// must answer (never panic), and never with a server error for input a retry cannot change.
func FuzzCallbacks(f *testing.F) {
	f.Add("CallSid=CA1&From=%2B4915112345678&To=%2B493012345678&CallStatus=ringing")
	f.Add("RecordingSid=RE1&RecordingStatus=completed&RecordingUrl=http%3A%2F%2Fx&RecordingDuration=-5")
	f.Add("TranscriptionStatus=completed&TranscriptionText=%00%ff&RecordingSid=")
	f.Add(`{"from":"4915112345678","to":"493012345678","conversation_uuid":"CON-1","dtmf":{"digits":"2"}}`)
	f.Add(`{"recording_uuid":"r","recording_url":"http://127.0.0.1:1/x","start_time":"x","end_time":"2026-01-01T00:00:00Z"}`)
	f.Add(`{"status":"completed","duration":"9999999999999999999"}`)
	f.Add(`[1,2,3]`)
	twilio := fuzzLine(f, "twilio")
	vonage := fuzzLine(f, "vonage")
	subs := []string{"", "/menu", "/dialed", "/recorded", "/recording", "/transcription", "/status", "/event"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sub := range subs {
			for _, l := range []fuzzTarget{twilio, vonage} {
				target := "http://gateway.test/hooks/voice" + sub + l.query
				req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
				if l.provider == "twilio" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					form, err := url.ParseQuery(body)
					if err != nil {
						continue // Twilio sends well-formed forms; a broken one fails the signature
					}
					req.Header.Set("X-Twilio-Signature", voicefake.Sign(authToken, target, form))
				} else {
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+voicefake.VonageCaller{SignatureSecret: signatureSecret}.Token([]byte(body)))
				}
				w := httptest.NewRecorder()
				l.ch.ServeHTTP(w, req)
				if w.Code == http.StatusInternalServerError {
					t.Fatalf("%s %s answered 500 to %q: %s", l.provider, sub, body, w.Body)
				}
			}
		}
	})
}

type fuzzTarget struct {
	provider string
	ch       *voice.Channel
	query    string // a valid call context, for the callbacks that need one
}

func fuzzLine(f testing.TB, provider string) fuzzTarget {
	var cfg voice.Config
	if provider == "vonage" {
		cfg = vonageConfig("http://127.0.0.1:1")
		cfg.Vonage.PrivateKey = vonagePEM()
	} else {
		cfg = twilioConfig("http://127.0.0.1:1")
	}
	cfg.HookURL = "http://gateway.test/hooks/voice"
	dir := f.TempDir()
	st, err := store.OpenSQLite(f.Context(), filepath.Join(dir, provider+".db"), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	bl, err := blobs.New(filepath.Join(dir, provider+"-blobs"), 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	ch, err := voice.New("voice", cfg, voice.Deps{Blobs: bl, Records: st, Cursors: st})
	if err != nil {
		f.Fatal(err)
	}
	return fuzzTarget{provider: provider, ch: ch, query: voice.CallContextQuery(ch, "CA1", "+4915112345678", lineNumber, "de")}
}
