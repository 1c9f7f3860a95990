package voice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/pgtest"
	"github.com/casino-support/gateway/test/conformance"
)

// standbySink is the sink of a replica that does not hold the line's singleton: its
// webhooks deliver, its settle loop never runs.
type standbySink struct{ *conformance.RecordingSink }

func (standbySink) RunSingleton(ctx context.Context, _ normalize.InstanceName, _ string, _ func(context.Context) error) error {
	<-ctx.Done()
	return nil
}

// runReplicas runs the env's line and a second replica of it, which stands by for the settle
// loop; the webhooks go to the two in turn. On PostgreSQL the second has a store handle of its
// own, as another process has; SQLite allows one process a database, so they share one.
func (e *env) runReplicas() {
	e.t.Helper()
	st := e.store
	if e.dsn != "" {
		st = e.openStore()
		e.t.Cleanup(func() { _ = st.Close() })
	}
	other, err := voice.New("voice", e.cfg, voice.Deps{Blobs: e.blobs, Records: st, Cursors: st, Client: e.client,
		PublicURL: e.hooks.URL})
	require.NoError(e.t, err)
	voice.SetTiming(other, 20*time.Millisecond, 20*time.Millisecond, 300*time.Millisecond, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- other.Run(ctx, standbySink{e.sink}) }()
	e.t.Cleanup(func() { cancel(); require.NoError(e.t, <-done) })
	e.run()
	require.Eventually(e.t, func() bool { return voice.Running(other) }, waitFor, time.Millisecond)
	e.replicas = []*voice.Channel{e.ch, other}
}

// pendingRecords returns the line's records of voicemails under way.
func (e *env) pendingRecords() []connectors.Record {
	e.t.Helper()
	recs, err := e.store.ListRecords(e.t.Context(), "voice", "vm:", "", 1000)
	require.NoError(e.t, err)
	return recs
}

// TestReplicasTakingCallbacksAtOnceLoseNothing: two replicas of a line on one store take
// the recording and transcription callbacks of many voicemails, each callback twice, all at
// once and in turn; every voicemail reaches the agents once, with its audio and transcript,
// and nothing is left under way.
func TestReplicasTakingCallbacksAtOnceLoseNothing(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := ""
			if dialect == "postgres" {
				dsn = pgtest.DSN(t)
			}
			e := newEnvOn(t, "twilio", dsn, nil)
			e.runReplicas()
			const n = 10
			var wg sync.WaitGroup
			callers := map[string]string{} // caller → recording
			for i := range n {
				call, rec, caller := newCallSid(), newRecSid(), fmt.Sprintf("+4915100%06d", i)
				callers[caller] = rec
				tw := e.incoming(call, caller, lineNumber)
				recURL := e.fake.AddTwilioRecording(rec, []byte("audio of "+rec))
				recording := url.Values{"AccountSid": {accountSID}, "CallSid": {call}, "RecordingSid": {rec},
					"RecordingUrl": {recURL}, "RecordingStatus": {"completed"}, "RecordingDuration": {"12"}}
				transcription := url.Values{"AccountSid": {accountSID}, "CallSid": {call}, "RecordingSid": {rec},
					"RecordingUrl": {recURL}, "TranscriptionSid": {"TR" + rec[2:]}, "TranscriptionText": {"words of " + rec},
					"TranscriptionStatus": {"completed"}}
				for range 2 {
					for _, cb := range []struct {
						url  string
						form url.Values
					}{{tw.Record.RecordingStatusCallback, recording}, {tw.Record.TranscribeCallback, transcription}} {
						wg.Go(func() {
							a, err := e.twilio.Post(context.Background(), cb.url, cb.form)
							if assert.NoError(t, err) {
								assert.Equal(t, http.StatusNoContent, a.Status, "%s", a.Body)
							}
						})
					}
				}
			}
			wg.Wait()
			for caller, rec := range callers {
				msgs := e.waitMessages(caller, 1)
				require.Equal(t, normalize.KindVoiceMsg, msgs[0].Kind)
				require.Equal(t, "words of "+rec, msgs[0].Text, "the transcript, whichever replica took it")
				require.Len(t, msgs[0].Attachments, 1)
				require.Equal(t, "audio of "+rec, e.blob(msgs[0].Attachments[0]))
			}
			require.Eventually(t, func() bool { return len(e.pendingRecords()) == 0 }, waitFor, tick,
				"settled voicemails leave nothing under way: %v", e.pendingRecords())
		})
	}
}

// TestOldPendingListIsMoved: a pending list an older version left in the cursors is moved
// into records on the first start and settled from there: a voicemail not fetched yet is
// fetched and delivered, one delivered before its transcript came gets it as a message of its
// own, a call's end due is told as abandoned; the old cursors are emptied.
func TestOldPendingListIsMoved(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	ctx := t.Context()
	first := time.Now().Add(-time.Minute).UTC()
	fresh, late, call := newRecSid(), newRecSid(), newCallSid()
	recURL := e.fake.AddTwilioRecording(fresh, []byte("old audio")) + ".mp3" // as the channel stored it
	old := map[string]any{
		"vm:" + fresh: map[string]any{"recording": fresh, "call": "CAold1", "from": "+4915100000001", "to": lineNumber,
			"lang": "de", "first": first, "url": recURL, "duration": 9, "expect_transcript": true,
			"transcript": "left before the upgrade", "transcript_done": true},
		"vm:" + late: map[string]any{"recording": late, "call": "CAold2", "from": "+4915100000002", "to": lineNumber,
			"lang": "de", "first": first, "url": recURL, "expect_transcript": true, "transcript": "came late",
			"transcript_done": true, "delivered": true, "problem": "gave up"},
		"end:" + call: map[string]any{"call": call, "from": "+4915100000003", "to": lineNumber, "lang": "de",
			"duration": 4, "due": first},
	}
	keys := []string{}
	for key, v := range old {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, e.store.SetCursor(ctx, "voice", key, string(raw)))
		keys = append(keys, key)
	}
	list, err := json.Marshal(keys)
	require.NoError(t, err)
	require.NoError(t, e.store.SetCursor(ctx, "voice", "pending", string(list)))

	e.run()
	vm := e.waitMessages("+4915100000001", 1)[0]
	require.Equal(t, "left before the upgrade", vm.Text)
	require.Len(t, vm.Attachments, 1)
	require.Equal(t, "old audio", e.blob(vm.Attachments[0]))
	lateMsg := e.waitMessages("+4915100000002", 1)[0]
	require.Contains(t, lateMsg.Text, "came late", "the transcript that came after the voicemail")
	abandoned := e.waitMessages("+4915100000003", 1)[0]
	require.Contains(t, abandoned.Text, "abandoned")

	for _, key := range append(keys, "pending") {
		v, err := e.store.Cursor(ctx, "voice", key)
		require.NoError(t, err)
		require.Empty(t, v, "cursor %s is emptied once moved", key)
	}
	require.Eventually(t, func() bool { return len(e.pendingRecords()) == 0 }, waitFor, tick)

	// During a rolling upgrade a replica of the older version, running on, adds to the old
	// list and notes in the cursors that a call left a message: both are taken up.
	handledCall, abandonedCall := newCallSid(), newCallSid()
	require.NoError(t, e.store.SetCursor(ctx, "voice", "handled:"+handledCall, "1"))
	later := []string{}
	for caller, c := range map[string]string{"+4915100000004": handledCall, "+4915100000005": abandonedCall} {
		raw, err := json.Marshal(map[string]any{"call": c, "from": caller, "to": lineNumber, "duration": 4, "due": first})
		require.NoError(t, err)
		require.NoError(t, e.store.SetCursor(ctx, "voice", "end:"+c, string(raw)))
		later = append(later, "end:"+c)
	}
	list, err = json.Marshal(later)
	require.NoError(t, err)
	require.NoError(t, e.store.SetCursor(ctx, "voice", "pending", string(list)))
	require.Contains(t, e.waitMessages("+4915100000005", 1)[0].Text, "abandoned")
	require.Eventually(t, func() bool {
		ends, err := e.store.ListRecords(ctx, "voice", "end:", "", 10)
		require.NoError(t, err)
		return len(ends) == 0
	}, waitFor, tick, "every call's end settled")
	require.Empty(t, e.messages("+4915100000004"), "the older replica noted that the call left a message")
}

// TestRecordsExpire: what the line keeps of a settled call (the voicemail delivered, that
// the call left one) expires 30 days after it was written, for retention to delete.
func TestRecordsExpire(t *testing.T) {
	e := newEnv(t, "twilio", nil)
	e.run()
	call, rec := newCallSid(), newRecSid()
	tw := e.incoming(call, "+4915112345678", lineNumber)
	e.voicemail(tw, call, rec, []byte("audio"), "hello", false)
	e.waitMessages("+4915112345678", 1)
	var recs []connectors.Record
	require.Eventually(t, func() bool {
		var err error
		recs, err = e.store.ListRecords(t.Context(), "voice", "", "", 100)
		require.NoError(t, err)
		return len(recs) == 2
	}, waitFor, tick, "the voicemail delivered and the call handled: %v", recs)
	for _, r := range recs {
		require.Contains(t, []string{"done:" + rec, "handled:" + call}, r.Key)
		require.WithinDuration(t, time.Now().Add(30*24*time.Hour), r.Expires, time.Minute, "%s", r.Key)
	}
}
