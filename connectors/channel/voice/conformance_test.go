package voice_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
)

// TestChannelConformance runs the router's promises against a Twilio line and the fake
// provider. A player's message is a voicemail: the recording's and the transcript's
// callbacks, signed as Twilio signs them, whose transcript is the message's text; the
// recording's SID is the suite's external ID. Replies go out as SMS through the fake
// Messages API, with the suite's faults injected on the channel's own wire.
//
// Acknowledged is left nil, so SinkFailureIsNotAcknowledged is skipped: the line answers a
// callback 2xx once its content is durable in the store's records, before the message is
// delivered (the voicemail is complete only once its audio is downloaded, which must not
// hold up the provider), so an acknowledgement does not wait for Sink.Deliver.
// TestTwilioSinkDownThenUp and TestTwilioStoreDownIsNotAcknowledged check what that suite
// test stands for: nothing acknowledged is lost, nothing unstored is acknowledged.
func TestChannelConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
	conformance.RunChannel(t, conformance.ChannelHarness{
		New: func(t *testing.T) connectors.Channel {
			e := newEnv(t, "twilio", nil)
			envs.Put(t, e)
			return e.ch
		},
		PlayerSends: func(t *testing.T, _ connectors.Channel, address normalize.Address, externalID, text string) error {
			return envs.Get(t).leaveVoicemail(string(address), externalID, text)
		},
		Received: func(t *testing.T, address normalize.Address) []string {
			var texts []string
			for _, m := range envs.Get(t).fake.Sent(string(address)) {
				texts = append(texts, m.Body)
			}
			return texts
		},
		Idempotent: false, // Twilio's Messages API takes no idempotency key
		NewAddress: func(*testing.T) normalize.Address {
			return normalize.Address(fmt.Sprintf("+49151%08d", nextPlayer.Add(1)))
		},
		FailSend: func(t *testing.T, f httpfault.Fault) {
			envs.Get(t).faults.Next(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/Messages.json") }, f)
		},
	})
}

var nextPlayer atomic.Int64

// leaveVoicemail is one voicemail of caller under the recording SID rec: the call, the
// recording's callback and the transcript's, each of which must be answered 2xx.
func (e *env) leaveVoicemail(caller, rec, transcript string) error {
	ctx := e.t.Context()
	call := "CA" + rec
	a, err := e.twilio.Post(ctx, e.hookURL, url.Values{"CallSid": {call}, "From": {caller}, "To": {lineNumber}, "CallStatus": {"ringing"}})
	if err != nil || a.Status != http.StatusOK {
		return fmt.Errorf("incoming call: %d %s %v", a.Status, a.Body, err)
	}
	tw := parseTwiML(e.t, a)
	recURL := e.fake.AddTwilioRecording(rec, []byte("audio of "+rec))
	for _, cb := range []struct {
		url  string
		form url.Values
	}{
		{tw.Record.RecordingStatusCallback, url.Values{"CallSid": {call}, "RecordingSid": {rec}, "RecordingUrl": {recURL},
			"RecordingStatus": {"completed"}, "RecordingDuration": {"3"}}},
		{tw.Record.TranscribeCallback, url.Values{"CallSid": {call}, "RecordingSid": {rec}, "TranscriptionText": {transcript},
			"TranscriptionStatus": {"completed"}}},
	} {
		a, err := e.twilio.Post(ctx, cb.url, cb.form)
		if err != nil || a.Status/100 != 2 {
			return fmt.Errorf("callback %s: %d %s %v", cb.url, a.Status, a.Body, err)
		}
	}
	return nil
}
