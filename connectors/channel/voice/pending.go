package voice

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// A voicemail reaches the channel in pieces: the recording's callback (a URL to download),
// the transcript's callback (before or after it, or never), and the call's end. Each piece
// is written to the gateway's store (connectors.Cursors) before its callback is answered, so
// a crash at any point loses nothing the provider was told is taken; the settle loop
// (settle.go) fetches the audio, waits for the transcript, and delivers ONE message per
// recording once it has both or waited long enough.
//
// Cursor keys of the line's instance:
//
//	pending           JSON list of the keys below still to settle
//	vm:<recording>    a voicemail (voicemail), kept once done so a replayed callback is known
//	end:<call>        a call that ended normally, checked for a message left (callEnd)
//	handled:<call>    "1" once the call left something: a voicemail, a call-back request,
//	                  an answered forward
//
// One process serializes its changes with Channel.mu. Two replicas taking callbacks of the
// same line at once could race on the pending list; see docs/voice.md.

const pendingKey = "pending"

// voicemail is a recording under way.
type voicemail struct {
	Recording string    `json:"recording"`
	Call      string    `json:"call"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Lang      string    `json:"lang"`
	First     time.Time `json:"first"` // when the first piece arrived
	// URL is where the audio is downloaded; empty until the recording's callback came.
	URL      string `json:"url,omitempty"`
	Duration int    `json:"duration,omitempty"`
	// ExpectTranscript says the provider was asked for a transcript of this recording.
	ExpectTranscript bool `json:"expect_transcript,omitempty"`
	// TranscriptURL is where Vonage keeps the transcript, to fetch.
	TranscriptURL string `json:"transcript_url,omitempty"`
	Transcript    string `json:"transcript,omitempty"`
	// TranscriptDone is set once the transcript came (TranscriptFailed: as a failure).
	TranscriptDone   bool `json:"transcript_done,omitempty"`
	TranscriptFailed bool `json:"transcript_failed,omitempty"`

	Audio *normalize.Attachment `json:"audio,omitempty"`
	// Attempts counts failed downloads; NextTry is when the next may start.
	Attempts int       `json:"attempts,omitempty"`
	NextTry  time.Time `json:"next_try,omitzero"`
	// Problem says why the audio could not be had, once the channel gave up on it.
	Problem string `json:"problem,omitempty"`

	// Delivered is set once the message is stored; Late once a transcript that came after it
	// was delivered as a message of its own.
	Delivered bool `json:"delivered,omitempty"`
	// DeliveredTranscript says the delivered message carried the transcript's outcome.
	DeliveredTranscript bool `json:"delivered_transcript,omitempty"`
	Late                bool `json:"late,omitempty"`
}

// callEnd is a call that ended normally, to check for a message left.
type callEnd struct {
	Call     string    `json:"call"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Lang     string    `json:"lang"`
	Duration int       `json:"duration"`
	Due      time.Time `json:"due"`
}

func vmKey(rec string) string       { return "vm:" + rec }
func endKey(call string) string     { return "end:" + call }
func handledKey(call string) string { return "handled:" + call }

// load reads the JSON record under key into v; found is false when there is none.
func (c *Channel) load(ctx context.Context, key string, v any) (found bool, err error) {
	raw, err := c.cursors.Cursor(ctx, c.name, key)
	if err != nil || raw == "" {
		return false, err
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("voice %s: record %s: %w", c.name, key, err)
	}
	return true, nil
}

// save writes v under key; it returns once that is durable.
func (c *Channel) save(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("voice %s: record %s: %w", c.name, key, err)
	}
	return c.cursors.SetCursor(ctx, c.name, key, string(raw))
}

// pendingKeys returns the keys still to settle. Callers hold c.mu.
func (c *Channel) pendingKeys(ctx context.Context) ([]string, error) {
	var keys []string
	_, err := c.load(ctx, pendingKey, &keys)
	return keys, err
}

// addPending puts key on the list before its record is written: a crash between the two
// leaves a key without a record, which the settle loop drops, never a record nobody settles.
// Callers hold c.mu.
func (c *Channel) addPending(ctx context.Context, key string) error {
	keys, err := c.pendingKeys(ctx)
	if err != nil || slices.Contains(keys, key) {
		return err
	}
	return c.save(ctx, pendingKey, append(keys, key))
}

// dropPending takes key off the list. Callers hold c.mu.
func (c *Channel) dropPending(ctx context.Context, key string) error {
	keys, err := c.pendingKeys(ctx)
	if err != nil || !slices.Contains(keys, key) {
		return err
	}
	return c.save(ctx, pendingKey, slices.DeleteFunc(keys, func(k string) bool { return k == key }))
}

// updateVoicemail changes the voicemail of rec (a new one from k when there is none) with
// change, durably, and wakes the settle loop. A voicemail delivered already is passed to
// change too, which tells what a late piece means.
func (c *Channel) updateVoicemail(ctx context.Context, k caller, rec string, change func(v *voicemail)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := vmKey(rec)
	var v voicemail
	found, err := c.load(ctx, key, &v)
	if err != nil {
		return err
	}
	if !found {
		v = voicemail{Recording: rec, Call: k.call, From: k.from, To: k.to, Lang: k.lang, First: c.now().UTC()}
	}
	change(&v)
	if err := c.addPending(ctx, key); err != nil {
		return err
	}
	if err := c.save(ctx, key, v); err != nil {
		return err
	}
	c.wake()
	return nil
}

// recordingArrived records that the audio of rec can be downloaded from url.
func (c *Channel) recordingArrived(ctx context.Context, k caller, rec, url string, secs int, expectTranscript bool) error {
	c.markHandled(ctx, k.call)
	return c.updateVoicemail(ctx, k, rec, func(v *voicemail) {
		if v.URL != "" {
			return // the same callback again
		}
		v.URL, v.Duration, v.ExpectTranscript = url, secs, expectTranscript
	})
}

// transcriptArrived records rec's transcript (ok false: the provider could not make one).
func (c *Channel) transcriptArrived(ctx context.Context, k caller, rec, text string, ok bool) error {
	c.markHandled(ctx, k.call)
	return c.updateVoicemail(ctx, k, rec, func(v *voicemail) {
		if v.TranscriptDone {
			return // the same callback again
		}
		v.TranscriptDone, v.TranscriptFailed, v.Transcript = true, !ok, text
		if !ok {
			v.Transcript = ""
		}
	})
}

// transcriptURLArrived records where rec's transcript is to be fetched (Vonage).
func (c *Channel) transcriptURLArrived(ctx context.Context, k caller, rec, url string) error {
	c.markHandled(ctx, k.call)
	return c.updateVoicemail(ctx, k, rec, func(v *voicemail) {
		if !v.TranscriptDone && v.TranscriptURL == "" {
			v.TranscriptURL = url
		}
	})
}

// markHandled notes that call left something, so its end is no abandoned call. It is a hint
// for that note only: a failure is logged, and at worst the agents read of an abandoned call
// next to the voicemail.
func (c *Channel) markHandled(ctx context.Context, call string) {
	if call == "" {
		return
	}
	if err := c.cursors.SetCursor(ctx, c.name, handledKey(call), "1"); err != nil {
		c.log.Warn("voice: could not note that the call left a message", "call", call, "err", err)
	}
}

// callEnded schedules the check whether call left anything, once its voicemail has had time
// to arrive (Twilio's recording callbacks may follow the call's end).
func (c *Channel) callEnded(ctx context.Context, k caller, secs int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := endKey(k.call)
	if err := c.addPending(ctx, key); err != nil {
		return err
	}
	if err := c.save(ctx, key, callEnd{Call: k.call, From: k.from, To: k.to, Lang: k.lang, Duration: secs,
		Due: c.now().Add(c.endGrace).UTC()}); err != nil {
		return err
	}
	c.wake()
	return nil
}

// callMissed tells the agents of a call that never reached the line (busy, no answer, the
// caller hung up while it rang). It returns once that is stored.
func (c *Channel) callMissed(ctx context.Context, k caller, status string) error {
	text := fmt.Sprintf("Missed call from %s (%s) to %s.", k.from, status, k.to)
	return c.sink.Deliver(ctx, c.systemMessage(k.call, k.from, k.lang, "missed:"+k.call, text))
}

// callbackRequested stores a call-back request from the menu; it returns once it is stored.
func (c *Channel) callbackRequested(ctx context.Context, k caller) error {
	if err := c.sink.Deliver(ctx, c.callbackMessage(k)); err != nil {
		c.log.Error("voice: call-back request not stored; the caller is offered the voicemail", "call", k.call, "err", err)
		return err
	}
	c.markHandled(ctx, k.call)
	c.log.Info("voice: call-back requested", "call", k.call, "conv", address(k.from, k.call))
	return nil
}

// wake makes the settle loop look at the pending records now.
func (c *Channel) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
