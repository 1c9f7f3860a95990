package voice

import (
	"fmt"
	"time"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/normalize"
)

// The messages a line hands the router. Their ExternalIDs are the provider's own IDs
// (RecordingSid, recording_uuid, CallSid, conversation_uuid) with a prefix per kind of
// message, so the store keeps each once however often the provider repeats a callback.

// CallbackPrefix starts the text of every call-back request, from this line as from every
// other channel: connectors/callback owns their one shape. Its ExternalID starts with
// "callback:".
const CallbackPrefix = callback.Prefix

// player is the author of a caller's messages: their number, language and, for a VIP on the
// configured list, tier and player ID, from which the router sets the conversation's
// priority (router.priorityFor).
func (c *Channel) player(from, lang string) normalize.Author {
	a := normalize.Author{Role: normalize.RolePlayer, DisplayName: from, Language: lang, ExternalID: from}
	if v, ok := c.vips[from]; ok {
		a.VIPTier, a.PlayerID = v.tier, v.playerID
	}
	return a
}

// inbound is the common part of the line's inbound messages.
func (c *Channel) inbound(call, from, lang, externalID string) normalize.Message {
	return normalize.Message{
		Direction:   normalize.Inbound,
		Source:      c.name,
		ExternalID:  normalize.ExternalID(externalID),
		Channel:     c.name,
		ChannelKind: normalize.KindVoice,
		Address:     address(from, call),
		Author:      c.player(from, lang),
		SentAt:      c.now().UTC(),
	}
}

// voicemailMessage is the one message of a voicemail: the transcript as text, the audio as
// attachment, and what is missing said in words.
func (c *Channel) voicemailMessage(v voicemail) normalize.Message {
	m := c.inbound(v.Call, v.From, v.Lang, v.Recording)
	m.Kind = normalize.KindVoiceMsg
	m.SentAt = v.First
	m.Text = v.Transcript
	if v.Audio != nil {
		m.Attachments = []normalize.Attachment{*v.Audio}
	}
	var notes []string
	if v.Transcript == "" {
		switch {
		case v.TranscriptFailed:
			notes = append(notes, "the provider could not transcribe it")
		case v.ExpectTranscript && !v.TranscriptDone:
			notes = append(notes, fmt.Sprintf("no transcript within %s", c.cfg.TranscriptWait))
		}
	}
	if v.URL == "" {
		notes = append(notes, "the recording never arrived")
	}
	if v.Problem != "" {
		notes = append(notes, "the recording could not be fetched ("+v.Problem+"); it is kept at the provider as "+v.Recording)
	}
	if v.Transcript == "" || len(notes) > 0 {
		head := fmt.Sprintf("Voicemail (%s)", time.Duration(v.Duration)*time.Second)
		for i, n := range notes {
			sep := ": "
			if i > 0 {
				sep = "; "
			}
			head += sep + n
		}
		m.Text = joinLines(m.Text, head+".")
	}
	return m
}

// lateTranscriptMessage carries a transcript that came after its voicemail was delivered.
func (c *Channel) lateTranscriptMessage(v voicemail) normalize.Message {
	m := c.inbound(v.Call, v.From, v.Lang, "transcript:"+v.Recording)
	m.Kind = normalize.KindText
	m.Text = "Transcript of the voicemail " + v.Recording + ": " + v.Transcript
	return m
}

// callbackMessage is a caller's request to be called back. A caller who hid their number
// is still flagged, without one: an agent learns that they asked.
func (c *Channel) callbackMessage(k caller) normalize.Message {
	m := c.inbound(k.call, k.from, k.lang, "callback:"+k.call)
	var cb normalize.Callback
	if a := address(k.from, k.call); a == normalize.Address(k.from) {
		cb.Phone = k.from
	}
	callback.Mark(&m, cb, "the phone menu of "+k.to)
	return m
}

// systemMessage is an event of a call: missed, abandoned. Its author stays the caller, so
// that a VIP's missed call raises the conversation's priority like their words do.
func (c *Channel) systemMessage(call, from, lang, externalID, text string) normalize.Message {
	m := c.inbound(call, from, lang, externalID)
	m.Kind = normalize.KindSystem
	m.Text = text
	return m
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}
