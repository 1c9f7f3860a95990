package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/loopback"
	"github.com/casino-support/gateway/test/voicefake"
)

const (
	voiceAccount = "AC00000000000000000000000000000e2e"
	voiceToken   = "e2e-twilio-auth-token"
	voiceLine    = "+493012345678"
)

// voiceEnv is a gateway with a Twilio voice line whose REST API is the fake.
type voiceEnv struct {
	*env
	fake   *voicefake.Server
	caller voicefake.TwilioCaller
}

func newVoiceEnv(t *testing.T) *voiceEnv {
	t.Helper()
	fake := voicefake.New(voiceAccount, voiceToken, "", "", nil)
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	fake.URL = api.URL
	e := newEnvWith(t, "  backoff_base: 50ms", func(string) string {
		return fmt.Sprintf(`  - name: voice
    type: voice
    provider: twilio
    twilio: {account_sid: %s, auth_token: %s, api_url: %s}
    sms: {from: "%s"}
    transcript_wait: 1m
`, voiceAccount, voiceToken, api.URL, voiceLine)
	})
	return &voiceEnv{env: e, fake: fake, caller: voicefake.TwilioCaller{AuthToken: voiceToken}}
}

// startVoice starts a gateway with a voice line; ctx bounds the test's requests.
func startVoice(t *testing.T) (*voiceEnv, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the binary")
	}
	v := newVoiceEnv(t)
	v.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return v, ctx
}

// call places a call from caller and returns the TwiML, retrying while the gateway starts.
func (v *voiceEnv) call(ctx context.Context, call, caller string) voicefake.TwiML {
	v.t.Helper()
	var tw voicefake.TwiML
	require.NoError(v.t, retry(ctx, func() error {
		a, err := v.caller.Post(ctx, v.base+"/hooks/voice", url.Values{"CallSid": {call}, "AccountSid": {voiceAccount},
			"From": {caller}, "To": {voiceLine}, "CallStatus": {"ringing"}, "Direction": {"inbound"}})
		if err != nil {
			return err
		}
		tw, err = voicefake.ParseTwiML(a)
		return err
	}))
	require.NotNil(v.t, tw.Record, "the call is answered with the voicemail")
	return tw
}

// callback posts one signed callback until the gateway answers it 2xx.
func (v *voiceEnv) callback(ctx context.Context, target string, form url.Values) {
	v.t.Helper()
	require.NoError(v.t, retry(ctx, func() error {
		a, err := v.caller.Post(ctx, target, form)
		if err != nil {
			return err
		}
		if a.Status/100 != 2 {
			return fmt.Errorf("callback answered %d: %s", a.Status, a.Body)
		}
		return nil
	}))
}

// voicemail sends the recording's and the transcript's callbacks of a voicemail.
func (v *voiceEnv) voicemail(ctx context.Context, tw voicefake.TwiML, call, rec, audio, transcript string) {
	recURL := v.fake.AddTwilioRecording(rec, []byte(audio))
	v.callback(ctx, tw.Record.RecordingStatusCallback, url.Values{"AccountSid": {voiceAccount}, "CallSid": {call},
		"RecordingSid": {rec}, "RecordingUrl": {recURL}, "RecordingStatus": {"completed"}, "RecordingDuration": {"9"}})
	v.callback(ctx, tw.Record.TranscribeCallback, url.Values{"AccountSid": {voiceAccount}, "CallSid": {call},
		"RecordingSid": {rec}, "TranscriptionText": {transcript}, "TranscriptionStatus": {"completed"}})
}

// ticketOf returns the ticket of the voice conversation at address, once it has n messages.
func (v *voiceEnv) ticketOf(address string, n int) loopback.Ticket {
	v.t.Helper()
	var found loopback.Ticket
	require.Eventually(v.t, func() bool {
		for _, tk := range v.helpdesk.Tickets() {
			if tk.Address == address && len(tk.Messages) >= n {
				found = tk
				return true
			}
		}
		return false
	}, time.Minute, 20*time.Millisecond, "a ticket of %s with %d messages", address, n)
	return found
}

// TestVoiceThroughTheBinary: an incoming call, a voicemail (recording and transcript
// callbacks signed as Twilio signs them), a ticket with the audio and the transcript in one
// message, an agent's reply, an SMS to the caller at the fake Messages API. A forged callback
// is refused and stores nothing.
func TestVoiceThroughTheBinary(t *testing.T) {
	v, ctx := startVoice(t)
	const caller = "+4915112345678"
	tw := v.call(ctx, "CA0000000000000000000000000000e2e1", caller)

	forged := url.Values{"CallSid": {"CA1"}, "RecordingSid": {"RE-forged"}, "RecordingStatus": {"completed"}, "RecordingUrl": {v.fake.URL}}
	a, err := v.caller.PostSigned(ctx, tw.Record.RecordingStatusCallback, forged, voicefake.Sign("wrong-token", tw.Record.RecordingStatusCallback, forged))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, a.Status)

	v.voicemail(ctx, tw, "CA0000000000000000000000000000e2e1", "RE0000000000000000000000000000e2e1", "mp3 bytes", "Wo bleibt meine Auszahlung?")
	tk := v.ticketOf(caller, 1)
	require.Len(t, tk.Messages, 1, "recording and transcript are one message")
	require.Equal(t, "voice", tk.Messages[0].Kind)
	require.Equal(t, "Wo bleibt meine Auszahlung?", tk.Messages[0].Text)
	require.Equal(t, 1, tk.Messages[0].Attachments, "the audio is attached")
	require.Equal(t, "voice", tk.Channel)

	// Twilio delivers callbacks again: each is stored once (the missed call's by the store's
	// dedup on its CallSid).
	v.voicemail(ctx, tw, "CA0000000000000000000000000000e2e1", "RE0000000000000000000000000000e2e1", "mp3 bytes", "Wo bleibt meine Auszahlung?")
	const missed = "+4915112340000"
	for range 2 {
		v.callback(ctx, v.base+"/hooks/voice/status", url.Values{"CallSid": {"CA0000000000000000000000000000e2e9"},
			"From": {missed}, "To": {voiceLine}, "CallStatus": {"canceled"}})
	}
	missedTicket := v.ticketOf(missed, 1)
	require.Equal(t, "system", missedTicket.Messages[0].Kind)
	v.waitMetrics(t, `gateway_queue_depth{direction="inbound"} 0`)
	require.Len(t, v.ticketOf(missed, 1).Messages, 1, "a repeated status callback is stored once")
	require.Len(t, v.ticketOf(caller, 1).Messages, 1, "repeated recording callbacks are stored once")

	require.NoError(t, v.agentReply(ctx, tk.ID, "r-voice-1", "Ihre Auszahlung ist unterwegs."))
	require.Eventually(t, func() bool { return len(v.fake.Sent(caller)) > 0 }, time.Minute, 20*time.Millisecond, "the reply as SMS")
	sms := v.fake.Sent(caller)
	require.Len(t, sms, 1)
	require.Equal(t, "Ihre Auszahlung ist unterwegs.", sms[0].Body)
	require.Equal(t, voiceLine, sms[0].From)
	for _, tk := range v.helpdesk.Tickets() {
		for _, m := range tk.Messages {
			require.NotContains(t, m.Text, "RE-forged")
		}
	}
	require.False(t, v.logs.Contains(voiceToken), "the auth token must never reach the logs")
}

// TestVoiceSIGKILLBetweenCallbackAndDownload: the recording's callback is answered (its
// content stored), the download fails, the gateway is killed with SIGKILL before it could
// fetch the audio; after the restart the voicemail reaches the ticket with its audio and
// transcript, once.
func TestVoiceSIGKILLBetweenCallbackAndDownload(t *testing.T) {
	v, ctx := startVoice(t)
	v.fake.Fail("/Recordings/", http.StatusBadGateway, 1<<30)
	const caller, call, rec = "+4915112345699", "CA0000000000000000000000000000e2e2", "RE0000000000000000000000000000e2e2"
	tw := v.call(ctx, call, caller)
	v.voicemail(ctx, tw, call, rec, "audio kept across the crash", "Bitte rufen Sie mich zurück.")
	require.Eventually(t, func() bool { return v.logs.Contains("recording download failed, will retry") }, time.Minute,
		20*time.Millisecond, "the gateway tried the download")
	v.kill()
	require.Empty(t, v.helpdesk.Tickets(), "nothing reached the helpdesk before the kill")

	v.fake.ClearFailures()
	v.start()
	tk := v.ticketOf(caller, 1)
	time.Sleep(500 * time.Millisecond) // a second, wrong copy would arrive about now
	tk = v.ticketOf(caller, 1)
	require.Len(t, tk.Messages, 1)
	require.Equal(t, "Bitte rufen Sie mich zurück.", tk.Messages[0].Text)
	require.Equal(t, 1, tk.Messages[0].Attachments)
}
