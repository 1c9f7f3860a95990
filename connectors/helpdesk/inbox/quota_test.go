package inbox

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/blobs"
)

// With the gateway's attachment storage full, the agent is told so, not that the file is too
// large, and keeps what they wrote; nothing is sent.
func TestReplyAttachmentWhenStorageIsFull(t *testing.T) {
	full, err := blobs.Open(t.TempDir(), blobs.Options{MaxBytes: 1 << 20, Quota: 4})
	require.NoError(t, err)
	f := newFixture(t, func(_ *Config, d *Deps) { d.Blobs = full })
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()

	resp := b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")}, "text": {"the terms"}},
		"terms.pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"))
	require.Equal(t, http.StatusInsufficientStorage, resp.status)
	require.Contains(t, resp.body, "the gateway&#39;s attachment storage is full")
	require.NotContains(t, resp.body, "too large")
	require.Contains(t, resp.body, ">the terms</textarea>")
	require.Empty(t, f.sink.delivered())
}
