package voice_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/voicefake"
)

// TestTwilioSignatureVector checks both signers against the example of Twilio's security
// documentation, as quoted in shared/CONTRACTS.md.
func TestTwilioSignatureVector(t *testing.T) {
	params := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	require.Equal(t, "vOEb5UThFn24KEfnOFLQY2AE5FY=", voice.TwilioSignature("12345", u, params))
	require.Equal(t, "vOEb5UThFn24KEfnOFLQY2AE5FY=", voicefake.Sign("12345", u, params))
}

func TestTwilioSignatureChecked(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	form := url.Values{"CallSid": {newCallSid()}, "From": {"+4915112345678"}, "To": {lineNumber}, "CallStatus": {"ringing"}}
	ctx := t.Context()
	tests := []struct {
		name      string
		signature string
		want      int
	}{
		{"good", voicefake.Sign(authToken, e.hookURL, form), http.StatusOK},
		{"wrong token", voicefake.Sign("not-the-token", e.hookURL, form), http.StatusForbidden},
		{"other URL", voicefake.Sign(authToken, e.hookURL+"/other", form), http.StatusForbidden},
		{"missing", "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := e.twilio.PostSigned(ctx, e.hookURL, form, tt.signature)
			require.NoError(t, err)
			require.Equal(t, tt.want, a.Status, "%s", a.Body)
		})
	}
	require.Equal(t, 3.0, e.rejected(), "each refused request is counted")

	// A forged recording callback stores nothing, even with a valid call context.
	tw := e.incoming(newCallSid(), "+4915112345678", lineNumber)
	rec := newRecSid()
	recURL := e.fake.AddTwilioRecording(rec, []byte("audio"))
	cb := url.Values{"CallSid": {"CAx"}, "RecordingSid": {rec}, "RecordingUrl": {recURL}, "RecordingStatus": {"completed"}}
	a, err := e.twilio.PostSigned(ctx, tw.Record.RecordingStatusCallback, cb, voicefake.Sign("forged", tw.Record.RecordingStatusCallback, cb))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, a.Status)
	a, err = e.twilio.PostSigned(ctx, tw.Record.RecordingStatusCallback, cb, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, a.Status)
	time.Sleep(200 * time.Millisecond)
	require.Empty(t, e.sink.Messages(), "a refused callback must store nothing")
	require.Zero(t, e.fake.Downloads(), "a refused callback must fetch nothing")
	left, err := e.store.ListRecords(ctx, "voice", "", "", 10)
	require.NoError(t, err)
	require.Empty(t, left, "a refused callback must store no record")
}

// TestTwilioCallContextCannotBeForged: a valid Twilio signature over a URL whose call
// context (the caller) was changed is refused: the context carries the channel's own MAC.
func TestTwilioCallContextCannotBeForged(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	tw := e.incoming(newCallSid(), "+4915112345678", lineNumber)
	forged := strings.Replace(tw.Record.RecordingStatusCallback, url.QueryEscape("+4915112345678"), url.QueryEscape("+4915199999999"), 1)
	require.NotEqual(t, tw.Record.RecordingStatusCallback, forged)
	a := e.post(forged, url.Values{"RecordingSid": {newRecSid()}, "RecordingStatus": {"completed"}, "RecordingUrl": {e.fake.URL}})
	require.Equal(t, http.StatusBadRequest, a.Status)
}

func TestTwilioIncomingTwiML(t *testing.T) {
	const vip, manager = "+4915100000077", "+493099999999"
	e := newEnv(t, "twilio", func(c *voice.Config) {
		c.Numbers = []voice.NumberConfig{
			{Number: lineNumber, Hours: []string{"mon-fri 09:00-18:00"}, TimeZone: "Europe/Berlin", Menu: true},
			{Number: "+442071234567", Language: "en", TimeZone: "UTC"},
		}
		c.VIP = []voice.VIPConfig{{Number: vip, Tier: 2, ForwardTo: manager}}
	})
	e.run()
	open := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)   // a Monday, 11:00 in Berlin
	closed := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) // a Sunday
	t.Run("in hours with menu, language by prefix", func(t *testing.T) {
		voice.SetNow(e.ch, func() time.Time { return open })
		tw := e.incoming(newCallSid(), "+4915112345678", lineNumber)
		require.NotNil(t, tw.Gather, "the menu")
		require.Equal(t, 1, tw.Gather.NumDigits)
		require.Equal(t, "de-DE", tw.Gather.Say.Language)
		require.Contains(t, tw.Gather.Say.Text, "Rückruf")
		require.True(t, strings.HasPrefix(tw.Gather.Action, e.hookURL+"/menu?"), tw.Gather.Action)
		require.NotNil(t, tw.Record, "no key pressed: the voicemail follows")
		require.Equal(t, 120, tw.Record.MaxLength)
		require.True(t, tw.Record.Transcribe)
		require.True(t, strings.HasPrefix(tw.Record.TranscribeCallback, e.hookURL+"/transcription?"))
		require.True(t, strings.HasPrefix(tw.Record.RecordingStatusCallback, e.hookURL+"/recording?"))
		require.Nil(t, tw.Dial)
	})
	t.Run("out of hours: the hours, then the voicemail", func(t *testing.T) {
		voice.SetNow(e.ch, func() time.Time { return closed })
		tw := e.incoming(newCallSid(), "+33612345678", lineNumber)
		require.Nil(t, tw.Gather)
		require.NotEmpty(t, tw.Says)
		require.Equal(t, "fr-FR", tw.Says[0].Language)
		require.Contains(t, tw.Says[0].Text, "lundi à vendredi, 09:00 à 18:00")
		require.NotNil(t, tw.Record)
	})
	t.Run("VIP in hours: forwarded", func(t *testing.T) {
		voice.SetNow(e.ch, func() time.Time { return open })
		tw := e.incoming(newCallSid(), vip, lineNumber)
		require.NotNil(t, tw.Dial)
		require.Equal(t, manager, tw.Dial.Number)
		require.True(t, strings.HasPrefix(tw.Dial.Action, e.hookURL+"/dialed?"))
		require.Nil(t, tw.Record)

		// Nobody answers: the voicemail takes over.
		after := parseTwiML(t, e.post(tw.Dial.Action, url.Values{"DialCallStatus": {"no-answer"}, "CallSid": {"CA1"}}))
		require.NotNil(t, after.Record)
		answered := parseTwiML(t, e.post(tw.Dial.Action, url.Values{"DialCallStatus": {"completed"}, "CallSid": {"CA1"}}))
		require.NotNil(t, answered.Hangup)
		require.Nil(t, answered.Record)
	})
	t.Run("VIP out of hours: voicemail", func(t *testing.T) {
		voice.SetNow(e.ch, func() time.Time { return closed })
		tw := e.incoming(newCallSid(), vip, lineNumber)
		require.Nil(t, tw.Dial)
		require.NotNil(t, tw.Record)
	})
	t.Run("number's own language, no menu", func(t *testing.T) {
		tw := e.incoming(newCallSid(), "+4915112345678", "+442071234567")
		require.Nil(t, tw.Gather)
		require.Equal(t, "en-GB", tw.Says[0].Language)
		require.Equal(t, "Welcome to player support.", tw.Says[0].Text)
		require.NotNil(t, tw.Record)
	})
}

func TestTwilioNoTranscriptionOverTwoMinutes(t *testing.T) {
	e := newEnv(t, "twilio", func(c *voice.Config) { c.MaxRecording = 5 * time.Minute })
	e.run()
	tw := e.incoming(newCallSid(), "+4915112345678", lineNumber)
	require.Equal(t, 300, tw.Record.MaxLength)
	require.False(t, tw.Record.Transcribe, "Twilio transcribes recordings of at most two minutes")
}

func TestTwilioVoicemailOneMessage(t *testing.T) {
	for _, order := range []struct {
		name            string
		transcriptFirst bool
	}{{"recording first", false}, {"transcription first", true}} {
		t.Run(order.name, func(t *testing.T) {
			e := newEnv(t, "twilio", nil)
			e.run()
			const caller = "+4915112345678"
			call, rec := newCallSid(), newRecSid()
			tw := e.incoming(call, caller, lineNumber)
			e.voicemail(tw, call, rec, []byte("ID3-audio-bytes"), "where is my withdrawal?", order.transcriptFirst)
			got := e.waitMessages(caller, 1)
			m := got[0]
			require.Equal(t, normalize.KindVoiceMsg, m.Kind)
			require.Equal(t, "where is my withdrawal?", m.Text)
			require.Equal(t, normalize.ExternalID(rec), m.ExternalID)
			require.Equal(t, normalize.Address(caller), m.Address)
			require.Equal(t, normalize.KindVoice, m.ChannelKind)
			require.Equal(t, "de", m.Author.Language)
			require.Len(t, m.Attachments, 1)
			require.Equal(t, "audio/mpeg", m.Attachments[0].MediaType)
			require.Equal(t, "ID3-audio-bytes", e.blob(m.Attachments[0]))
		})
	}
}

func TestTwilioReplayedCallbacksStoredOnce(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	const caller = "+4915112345678"
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, caller, lineNumber)
	e.voicemail(tw, call, rec, []byte("audio"), "hello", false)
	e.waitMessages(caller, 1)
	e.voicemail(tw, call, rec, []byte("audio"), "hello", false) // Twilio repeats both
	got := e.waitMessages(caller, 1)
	require.Equal(t, "hello", got[0].Text)
	require.Equal(t, 1, e.fake.Downloads(), "a replayed callback must not fetch the recording again")
}

func TestTwilioDownloadFailsThenSucceeds(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	e.fake.Fail("/Recordings/", http.StatusInternalServerError, 2)
	const caller = "+4915112345679"
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, caller, lineNumber)
	e.voicemail(tw, call, rec, []byte("audio after two failures"), "my bonus", false)
	got := e.waitMessages(caller, 1)
	require.Len(t, got[0].Attachments, 1)
	require.Equal(t, "audio after two failures", e.blob(got[0].Attachments[0]))
	require.Equal(t, "my bonus", got[0].Text)
}

func TestTwilioDownloadGivesUpWithANotice(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	e.fake.Fail("/Recordings/", http.StatusInternalServerError, 100)
	const caller = "+4915112345680"
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, caller, lineNumber)
	e.voicemail(tw, call, rec, []byte("audio"), "call me", false)
	got := e.waitMessages(caller, 1)
	require.Empty(t, got[0].Attachments)
	require.Contains(t, got[0].Text, "call me")
	require.Contains(t, got[0].Text, "could not be fetched")
	require.Contains(t, got[0].Text, rec, "the agents can find the recording at the provider")
}

// TestTwilioStoreDownIsNotAcknowledged: a callback whose content cannot be stored gets no
// 2xx, so Twilio sends it again; nothing is lost.
func TestTwilioStoreDownIsNotAcknowledged(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	tw := e.incoming(newCallSid(), "+4915112345678", lineNumber)
	require.NoError(t, e.closeStore()) // the store is gone
	a := e.post(tw.Record.RecordingStatusCallback, url.Values{"RecordingSid": {newRecSid()}, "RecordingStatus": {"completed"},
		"RecordingUrl": {e.fake.URL + "/x"}, "CallSid": {"CA1"}})
	require.Equal(t, http.StatusServiceUnavailable, a.Status, "%s", a.Body)
}

// TestTwilioSinkDownThenUp: while the router cannot store messages, callbacks are still
// taken (their content is durable in the channel's records) and the voicemail arrives once
// the router is back.
func TestTwilioSinkDownThenUp(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.sink.Fail(errStoreDown)
	e.run()
	const caller = "+4915112345681"
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, caller, lineNumber)
	e.voicemail(tw, call, rec, []byte("audio"), "still there?", false)
	require.Eventually(t, func() bool {
		return e.sink.Attempts(func(m normalize.Message) bool { return string(m.Address) == caller }) > 1
	}, waitFor, tick, "the voicemail is offered again and again")
	require.Empty(t, e.messages(caller))
	e.sink.Fail(nil)
	got := e.waitMessages(caller, 1)
	require.Equal(t, "still there?", got[0].Text)
}

// TestTwilioRestartResumesDownload is the unit-level SIGKILL: the channel stops after the
// recording's callback was taken but before the download succeeded; a new channel on the
// same store delivers the voicemail with its audio.
func TestTwilioRestartResumesDownload(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	e.fake.Fail("/Recordings/", http.StatusBadGateway, 1000)
	const caller = "+4915112345682"
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, caller, lineNumber)
	e.voicemail(tw, call, rec, []byte("kept across restarts"), "after the crash", false)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, e.messages(caller))
	e.fake.ClearFailures()
	e.restart()
	got := e.waitMessages(caller, 1)
	require.Equal(t, "after the crash", got[0].Text)
	require.Equal(t, "kept across restarts", e.blob(got[0].Attachments[0]))
}

func TestTwilioCallbackRequest(t *testing.T) {
	const vip = "+4915100000077"
	e := newEnv(t, "twilio", func(c *voice.Config) {
		c.Numbers = []voice.NumberConfig{{Number: lineNumber, Menu: true, TimeZone: "UTC"}}
		c.VIP = []voice.VIPConfig{{Number: vip, Tier: 3, PlayerID: "p-77"}}
	})
	e.run()
	call := newCallSid()
	tw := e.incoming(call, vip, lineNumber)
	after := parseTwiML(t, e.post(tw.Gather.Action, url.Values{"CallSid": {call}, "Digits": {"2"}}))
	require.NotNil(t, after.Hangup)
	require.Contains(t, after.Says[0].Text, "zurück")
	// Twilio repeats the request: one request is stored.
	e.post(tw.Gather.Action, url.Values{"CallSid": {call}, "Digits": {"2"}})
	got := e.waitMessages(vip, 1)
	m := got[0]
	require.True(t, strings.HasPrefix(m.Text, voice.CallbackPrefix), m.Text)
	require.Contains(t, m.Text, vip)
	require.Equal(t, normalize.KindText, m.Kind, "a call-back request awaits an answer like a player's words")
	require.Equal(t, &normalize.Callback{Phone: vip}, m.Callback, "flagged for the router and the helpdesks")
	require.Equal(t, 3, m.Author.VIPTier, "the router raises the priority of VIPs")
	require.Equal(t, "p-77", m.Author.PlayerID)

	// 1 leads to the voicemail.
	other := parseTwiML(t, e.post(tw.Gather.Action, url.Values{"CallSid": {newCallSid()}, "Digits": {"1"}}))
	require.NotNil(t, other.Record)
}

func TestTwilioMissedAndAbandonedCalls(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	status := func(call, from, st string) {
		a := e.post(e.hookURL+"/status", url.Values{"CallSid": {call}, "From": {from}, "To": {lineNumber},
			"CallStatus": {st}, "CallDuration": {"7"}})
		require.Equal(t, http.StatusNoContent, a.Status, "%s", a.Body)
	}
	const missed, abandoned, left = "+4915100000001", "+4915100000002", "+4915100000003"
	missedCall := newCallSid()
	status(missedCall, missed, "canceled")
	status(missedCall, missed, "canceled")
	got := e.waitMessages(missed, 1)
	require.Equal(t, normalize.KindSystem, got[0].Kind)
	require.Contains(t, got[0].Text, "Missed call from "+missed)

	e.incoming(newCallSid(), abandoned, lineNumber)
	status(newCallSid(), abandoned, "completed")
	got = e.waitMessages(abandoned, 1)
	require.Equal(t, normalize.KindSystem, got[0].Kind)
	require.Contains(t, got[0].Text, "without a message")

	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, left, lineNumber)
	e.post(tw.Record.Action, url.Values{"CallSid": {call}, "RecordingSid": {rec}, "RecordingDuration": {"5"}})
	status(call, left, "completed")
	e.voicemail(tw, call, rec, []byte("audio"), "a message", false)
	got = e.waitMessages(left, 1)
	require.Equal(t, normalize.KindVoiceMsg, got[0].Kind, "a call that left a voicemail is no abandoned call")
	time.Sleep(500 * time.Millisecond) // past the grace of the call's end
	require.Len(t, e.messages(left), 1)
}

func TestTwilioRepliesAsSMS(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	ctx := t.Context()
	conv := normalize.Conversation{ID: "c1", Channel: "voice", ChannelKind: normalize.KindVoice, Address: "+4915112345678"}
	id, err := e.ch.Send(ctx, conv, normalize.Message{ID: "m1", Direction: normalize.Outbound, Kind: normalize.KindText,
		Text: "Your withdrawal is on its way."})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(id), "SM"))
	sent := e.fake.Sent("+4915112345678")
	require.Len(t, sent, 1)
	require.Equal(t, "Your withdrawal is on its way.", sent[0].Body)
	require.Equal(t, lineNumber, sent[0].From)

	// A landline: the provider refuses, the reply fails for good, the agents are told.
	e.fake.Landline("+493087654321")
	land := normalize.Conversation{ID: "c2", Channel: "voice", Address: "+493087654321"}
	_, err = e.ch.Send(ctx, land, normalize.Message{ID: "m2", Kind: normalize.KindText, Text: "hi"})
	require.Error(t, err)
	require.True(t, isPermanent(err), "%v", err)
	notes := e.waitMessages("+493087654321", 1)
	require.Equal(t, normalize.KindSystem, notes[0].Kind)
	require.Contains(t, notes[0].Text, "call the player back")
}

func TestSMSByPrefixes(t *testing.T) {
	e := newEnv(t, "twilio", func(c *voice.Config) {
		c.SMS.Mode, c.SMS.MobilePrefixes = "prefixes", []string{"+4915", "+4916", "+4917"}
	})
	e.run()
	_, err := e.ch.Send(t.Context(), normalize.Conversation{ID: "c3", Address: "+493012345600"},
		normalize.Message{ID: "m3", Kind: normalize.KindText, Text: "hi"})
	require.True(t, isPermanent(err), "%v", err)
	require.Empty(t, e.fake.Sent("+493012345600"), "no SMS is tried to a number outside the mobile prefixes")
	notes := e.waitMessages("+493012345600", 1)
	require.Contains(t, notes[0].Text, "call the player back")
	_, err = e.ch.Send(t.Context(), normalize.Conversation{ID: "c4", Address: "+4916012345678"},
		normalize.Message{ID: "m4", Kind: normalize.KindText, Text: "hi"})
	require.NoError(t, err)
}

// healthSink is a RecordingSink that hears health reports.
type healthSink struct {
	*conformance.RecordingSink
	mu       sync.Mutex
	problems []error
}

func (h *healthSink) ReportHealth(_ normalize.InstanceName, problem error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.problems = append(h.problems, problem)
}

// refused returns the first problem reported, nil when none was. The tests wait for it, not
// for the last report: a retry 20 ms later that works reports the line ready again, sooner
// than a busy machine may poll.
func (h *healthSink) refused() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.problems {
		if p != nil {
			return p
		}
	}
	return nil
}

func (h *healthSink) last() (error, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.problems) == 0 {
		return nil, false
	}
	return h.problems[len(h.problems)-1], true
}

// TestTwilioRefusedCredentialsShowInHealth: a download Twilio refuses with 401 names the line
// not ready, with the reason, until a download works again.
func TestTwilioRefusedCredentialsShowInHealth(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	hs := &healthSink{RecordingSink: e.sink}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.ch.Run(ctx, hs) }()
	t.Cleanup(func() { cancel(); <-done })
	e.fake.Fail("/Recordings/", http.StatusUnauthorized, 1)
	const caller = "+4915112345683"
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, caller, lineNumber)
	e.voicemail(tw, call, rec, []byte("audio"), "hello", false)
	require.Eventually(t, func() bool { return hs.refused() != nil }, waitFor, tick)
	require.Contains(t, hs.refused().Error(), "refused the line's credentials")
	e.waitMessages(caller, 1)
	p, _ := hs.last()
	require.NoError(t, p, "a download that works again clears the problem")
}
