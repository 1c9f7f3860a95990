package inbox

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// The thread's "Flag complex" button hands the sink the agent's flag, once per form.
func TestFlagComplex(t *testing.T) {
	f := newFixture(t)
	c := f.conv("c1", lena)
	f.post(c, playerMsg("m1", "hi", t0))
	b := f.signedIn()
	require.Contains(t, b.get("/inbox/conversations/c1").body, `id="complex"`)

	form := url.Values{csrfField: {b.csrf}, "token": {"form-token-0000001"}}
	for range 2 { // a form submitted twice is one flag: the same dedup key
		resp := b.postForm("/inbox/conversations/c1/complex", form)
		require.Equal(t, http.StatusSeeOther, resp.status)
		require.Equal(t, "/inbox/conversations/c1", resp.header.Get("Location"))
	}
	var flags []normalize.Message
	for _, m := range f.sink.delivered() {
		if m.Complex {
			flags = append(flags, m)
		}
	}
	require.Len(t, flags, 2)
	for _, m := range flags {
		require.Equal(t, normalize.KindSystem, m.Kind)
		require.Equal(t, normalize.Outbound, m.Direction)
		require.Equal(t, normalize.ConversationID("c1"), m.Conversation)
		require.Equal(t, normalize.ExternalID("flag-form-token-0000001"), m.ExternalID)
		require.Contains(t, m.Text, "Flagged as a complex case by")
		require.Empty(t, m.Status)
	}
	require.Equal(t, http.StatusForbidden, b.postForm("/inbox/conversations/c1/complex", url.Values{"token": {"form-token-0000002"}}).status,
		"a form without the CSRF token is refused")
}
