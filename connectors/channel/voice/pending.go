package voice

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// A voicemail reaches the channel in pieces: the recording's callback (a URL to download),
// the transcript's callback (before or after it, or never), and the call's end. Each piece
// is written to the gateway's store (connectors.Records) before its callback is answered, so
// a crash at any point loses nothing the provider was told is taken; the settle loop
// (settle.go) fetches the audio, waits for the transcript, and delivers ONE message per
// recording once it has both or waited long enough.
//
// Records of the line's instance, one row per key, so that replicas taking callbacks of the
// same call at once never overwrite each other's pieces:
//
//	vm:<recording>:<piece>  a voicemail under way: what one callback brought (pieces
//	                        recording, transcript, transcript-url), each written whole in one
//	                        statement, and what the settle loop made of them (piece state: the
//	                        audio fetched, the attempts), written by that loop alone
//	done:<recording>        a voicemail delivered, kept so a late or replayed piece is known
//	end:<call>              a call that ended normally, checked for a message left (callEnd)
//	handled:<call>          "1" once the call left something: a voicemail, a call-back request,
//	                        an answered forward
//
// Every record expires recordTTL after it was last written, and retention deletes it. The
// settle loop runs on one replica at a time (a singleton), so only one downloads and
// delivers.

// recordTTL is how long the line's records are kept: far longer than any voicemail takes to
// settle or any provider replays a callback.
const recordTTL = 30 * 24 * time.Hour

// The pieces of a voicemail under way.
const (
	pieceRecording     = "recording"
	pieceTranscript    = "transcript"
	pieceTranscriptURL = "transcript-url"
	pieceState         = "state"
)

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

const vmPrefix = "vm:"

func pieceKey(rec, piece string) string { return vmPrefix + rec + ":" + piece }
func doneKey(rec string) string         { return "done:" + rec }
func endKey(call string) string         { return "end:" + call }
func handledKey(call string) string     { return "handled:" + call }

// load reads the JSON record under key into v; found is false when there is none.
func (c *Channel) load(ctx context.Context, key string, v any) (found bool, err error) {
	raw, found, err := c.records.Record(ctx, c.name, key)
	if err != nil || !found {
		return false, err
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("voice %s: record %s: %w", c.name, key, err)
	}
	return true, nil
}

// save writes v under key, to expire recordTTL from now; it returns once that is durable.
func (c *Channel) save(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("voice %s: record %s: %w", c.name, key, err)
	}
	return c.records.PutRecord(ctx, c.name, key, string(raw), c.now().Add(recordTTL))
}

// merge adds what p knows of a voicemail to v. Pieces only ever fill fields in (a URL, the
// audio, a transcript) or count up (attempts), so merging is the same in any order and
// merging a piece twice changes nothing.
func (v *voicemail) merge(p voicemail) {
	fillIn := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fillIn(&v.Recording, p.Recording)
	fillIn(&v.Call, p.Call)
	fillIn(&v.From, p.From)
	fillIn(&v.To, p.To)
	fillIn(&v.Lang, p.Lang)
	fillIn(&v.URL, p.URL)
	fillIn(&v.TranscriptURL, p.TranscriptURL)
	fillIn(&v.Problem, p.Problem)
	if v.First.IsZero() || (!p.First.IsZero() && p.First.Before(v.First)) {
		v.First = p.First
	}
	if v.Duration == 0 {
		v.Duration = p.Duration
	}
	if p.TranscriptDone && !v.TranscriptDone {
		v.Transcript, v.TranscriptDone, v.TranscriptFailed = p.Transcript, true, p.TranscriptFailed
	}
	if v.Audio == nil {
		v.Audio = p.Audio
	}
	v.Attempts = max(v.Attempts, p.Attempts)
	if p.NextTry.After(v.NextTry) {
		v.NextTry = p.NextTry
	}
	v.ExpectTranscript = v.ExpectTranscript || p.ExpectTranscript
	v.Delivered = v.Delivered || p.Delivered
	v.DeliveredTranscript = v.DeliveredTranscript || p.DeliveredTranscript
	v.Late = v.Late || p.Late
}

// putPiece stores what one callback brought of the voicemail rec, caller k's, as a record
// of its own, and wakes the settle loop. A replayed callback writes the same piece again.
func (c *Channel) putPiece(ctx context.Context, k caller, rec, piece string, fill func(v *voicemail)) error {
	v := voicemail{Recording: rec, Call: k.call, From: k.from, To: k.to, Lang: k.lang, First: c.now().UTC()}
	fill(&v)
	if err := c.save(ctx, pieceKey(rec, piece), v); err != nil {
		return err
	}
	c.wake()
	return nil
}

// recordingArrived records that the audio of rec can be downloaded from url.
func (c *Channel) recordingArrived(ctx context.Context, k caller, rec, url string, secs int, expectTranscript bool) error {
	c.markHandled(ctx, k.call)
	return c.putPiece(ctx, k, rec, pieceRecording, func(v *voicemail) {
		v.URL, v.Duration, v.ExpectTranscript = url, secs, expectTranscript
	})
}

// transcriptArrived records rec's transcript (ok false: the provider could not make one).
func (c *Channel) transcriptArrived(ctx context.Context, k caller, rec, text string, ok bool) error {
	c.markHandled(ctx, k.call)
	return c.putPiece(ctx, k, rec, pieceTranscript, func(v *voicemail) {
		v.TranscriptDone, v.TranscriptFailed, v.Transcript = true, !ok, text
		if !ok {
			v.Transcript = ""
		}
	})
}

// transcriptURLArrived records where rec's transcript is to be fetched (Vonage).
func (c *Channel) transcriptURLArrived(ctx context.Context, k caller, rec, url string) error {
	c.markHandled(ctx, k.call)
	return c.putPiece(ctx, k, rec, pieceTranscriptURL, func(v *voicemail) {
		v.TranscriptURL = url
	})
}

// markHandled notes that call left something, so its end is no abandoned call. It is a hint
// for that note only: a failure is logged, and at worst the agents read of an abandoned call
// next to the voicemail.
func (c *Channel) markHandled(ctx context.Context, call string) {
	if call == "" {
		return
	}
	if err := c.records.PutRecord(ctx, c.name, handledKey(call), "1", c.now().Add(recordTTL)); err != nil {
		c.log.Warn("voice: could not note that the call left a message", "call", call, "err", err)
	}
}

// callEnded schedules the check whether call left anything, once its voicemail has had time
// to arrive (Twilio's recording callbacks may follow the call's end).
func (c *Channel) callEnded(ctx context.Context, k caller, secs int) error {
	if err := c.save(ctx, endKey(k.call), callEnd{Call: k.call, From: k.from, To: k.to, Lang: k.lang, Duration: secs,
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
