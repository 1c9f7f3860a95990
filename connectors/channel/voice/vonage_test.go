package voice_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/normalize"
)

// action is one NCCO action as the tests read it.
type action struct {
	Action        string   `json:"action"`
	Text          string   `json:"text"`
	Language      string   `json:"language"`
	EventURL      []string `json:"eventUrl"`
	TimeOut       int      `json:"timeOut"`
	EndOnKey      string   `json:"endOnKey"`
	Transcription *struct {
		EventURL []string `json:"eventUrl"`
		Language string   `json:"language"`
	} `json:"transcription"`
	Endpoint []struct {
		Type   string `json:"type"`
		Number string `json:"number"`
	} `json:"endpoint"`
}

func parseNCCO(t *testing.T, status int, body []byte) []action {
	t.Helper()
	require.Equal(t, http.StatusOK, status, "%s", body)
	var n []action
	require.NoError(t, json.Unmarshal(body, &n), "NCCO: %s", body)
	return n
}

func findAction(n []action, name string) *action {
	for i := range n {
		if n[i].Action == name {
			return &n[i]
		}
	}
	return nil
}

func (e *env) answerVonage(call, from string) []action {
	e.t.Helper()
	a, err := e.vonage.Post(e.t.Context(), e.hookURL, map[string]string{"from": from, "to": lineNumber[1:],
		"uuid": "leg-" + call, "conversation_uuid": call})
	require.NoError(e.t, err)
	return parseNCCO(e.t, a.Status, a.Body)
}

func TestVonageSignedWebhooks(t *testing.T) {
	e := newEnv(t, "vonage", nil)
	e.run()
	body := []byte(`{"from":"4915112345678","to":"493012345678","uuid":"u1","conversation_uuid":"CON-1"}`)
	otherBody := []byte(`{"from":"4915199999999"}`)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iat": time.Now().Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	wrong, err := voice.VonageSignature("not-the-secret", body, time.Now())
	require.NoError(t, err)
	future, err := voice.VonageSignature(signatureSecret, body, time.Now().Add(time.Hour))
	require.NoError(t, err)
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"good", e.vonage.Token(body), http.StatusOK},
		{"wrong secret", wrong, http.StatusForbidden},
		{"missing", "", http.StatusForbidden},
		{"alg none", none, http.StatusForbidden},
		{"token of another body", e.vonage.Token(otherBody), http.StatusForbidden},
		{"issued in the future", future, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := e.vonage.PostToken(t.Context(), e.hookURL, body, tt.token)
			require.NoError(t, err)
			require.Equal(t, tt.want, a.Status, "%s", a.Body)
		})
	}
	require.Equal(t, 5.0, e.rejected())
}

func TestVonageNCCO(t *testing.T) {
	const vip, manager = "+4915100000077", "+493099999999"
	e := newEnv(t, "vonage", func(c *voice.Config) {
		c.VIP = []voice.VIPConfig{{Number: vip, ForwardTo: manager}}
	})
	e.run()
	n := e.answerVonage("CON-ncco", "4915112345678")
	talk := findAction(n, "talk")
	require.NotNil(t, talk)
	require.Equal(t, "de-DE", talk.Language)
	rec := findAction(n, "record")
	require.NotNil(t, rec)
	require.Equal(t, 120, rec.TimeOut)
	require.Equal(t, "#", rec.EndOnKey)
	require.Len(t, rec.EventURL, 1)
	require.Contains(t, rec.EventURL[0], e.hookURL+"/recording?")
	require.NotNil(t, rec.Transcription)
	require.Contains(t, rec.Transcription.EventURL[0], e.hookURL+"/transcription?")

	fwd := e.answerVonage("CON-vip", vip[1:])
	connect := findAction(fwd, "connect")
	require.NotNil(t, connect, "a VIP in hours is forwarded")
	require.Equal(t, manager[1:], connect.Endpoint[0].Number)
	// Nobody answers: the voicemail.
	a, err := e.vonage.Post(t.Context(), connect.EventURL[0], map[string]string{"status": "unanswered", "conversation_uuid": "CON-vip"})
	require.NoError(t, err)
	require.NotNil(t, findAction(parseNCCO(t, a.Status, a.Body), "record"))
}

func TestVonageVoicemail(t *testing.T) {
	e := newEnv(t, "vonage", nil)
	e.run()
	const caller = "+4915112345678"
	n := e.answerVonage("CON-vm", caller[1:])
	rec := findAction(n, "record")
	recURL, trURL := e.fake.AddVonageRecording("rec-uuid-1", []byte("vonage audio"), "bitte rufen Sie mich an")
	// The transcript's event first, then the recording's: one message.
	a, err := e.vonage.Post(t.Context(), rec.Transcription.EventURL[0], map[string]string{"recording_uuid": "rec-uuid-1",
		"conversation_uuid": "CON-vm", "status": "completed", "transcription_url": trURL})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.Status, "%s", a.Body)
	a, err = e.vonage.Post(t.Context(), rec.EventURL[0], map[string]string{"recording_uuid": "rec-uuid-1",
		"recording_url": recURL, "conversation_uuid": "CON-vm", "start_time": "2026-12-06T10:00:00Z",
		"end_time": "2026-12-06T10:00:09Z", "size": "12345", "timestamp": "2026-12-06T10:00:09Z"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.Status, "%s", a.Body)
	got := e.waitMessages(caller, 1)
	require.Equal(t, normalize.KindVoiceMsg, got[0].Kind)
	require.Equal(t, "bitte rufen Sie mich an", got[0].Text)
	require.Equal(t, normalize.ExternalID("rec-uuid-1"), got[0].ExternalID)
	require.Equal(t, "vonage audio", e.blob(got[0].Attachments[0]))
}

func TestVonageRepliesAsSMS(t *testing.T) {
	e := newEnv(t, "vonage", nil)
	e.run()
	conv := normalize.Conversation{ID: "c1", Address: "+4915112345678"}
	id, err := e.ch.Send(t.Context(), conv, normalize.Message{ID: "m1", Kind: normalize.KindText, Text: "Hallo!"})
	require.NoError(t, err)
	require.NotEmpty(t, id)
	sent := e.fake.Sent("+4915112345678")
	require.Len(t, sent, 1)
	require.Equal(t, "Hallo!", sent[0].Body)

	e.fake.Landline("+493087654321")
	_, err = e.ch.Send(t.Context(), normalize.Conversation{ID: "c2", Address: "+493087654321"},
		normalize.Message{ID: "m2", Kind: normalize.KindText, Text: "Hallo!"})
	require.True(t, isPermanent(err), "%v", err)
	notes := e.waitMessages("+493087654321", 1)
	require.Contains(t, notes[0].Text, "call the player back")
}
