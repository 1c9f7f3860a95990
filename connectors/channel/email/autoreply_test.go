package email_test

import (
	"bufio"
	"bytes"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAutoReplyIsMarkedAutoSubmitted: the gateway's own acknowledgement or out-of-hours
// notice (Message.AutoReply) goes out with Auto-Submitted: auto-replied (RFC 3834), so that
// the player's vacation responder does not answer it and start a loop; an agent's reply is a
// person's and goes without. Both ask Exchange not to answer with out-of-office notices. (The
// other half, never answering automatic mail, holds because such mail is dropped before the
// store: TestOversizedMailTellsThePlayerOnce counts the auto_reply drop.)
func TestAutoReplyIsMarkedAutoSubmitted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		autoReply bool
		want      string
	}{
		{"an acknowledgement", true, "auto-replied"},
		{"an agent's reply", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSubmission{}
			ch := plainChannel(t, startFakeSubmission(t, f))
			conv, msg := replyTo("ann@player.test")
			msg.AutoReply = tc.autoReply
			_, err := ch.Send(t.Context(), conv, msg)
			require.NoError(t, err)
			require.Len(t, f.received, 1)
			h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(f.received[0]))).ReadMIMEHeader()
			require.NoError(t, err)
			require.Equal(t, tc.want, h.Get("Auto-Submitted"))
			require.Equal(t, "OOF, AutoReply", h.Get("X-Auto-Response-Suppress"))
		})
	}
}
