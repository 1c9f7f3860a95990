package inbox

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/hugeimage"
)

// An agent's image that declares gigapixels would take down the player's browser (and the
// other agents') that shows it inline. The agent is there to be told, so it is refused with
// the reason, the text is kept, and nothing is delivered or stored.
func TestReplyRefusesImagesDeclaringHugeDimensions(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content []byte
		message string
	}{
		{"a PNG declaring 20000×20000", hugeimage.PNG(20000, 20000),
			"The image cannot be attached: the PNG image is 20000×20000 pixels (400 megapixels), over the limit of 50 megapixels."},
		{"a GIF with a huge first frame", hugeimage.GIFFrame(30000, 30000), "the GIF image is 30000×30000 pixels"},
		{"a PNG whose size cannot be read", hugeimage.PNG(10, 10)[:24], "the size of the PNG image cannot be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.conv("c1", lena)
			f.post(c, playerMsg("m1", "hi", t0))
			b := f.signedIn()
			resp := b.postMultipart("/inbox/conversations/c1/reply", url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")},
				"text": {"see the picture"}}, "bomb.png", tt.content)
			require.Equal(t, http.StatusUnprocessableEntity, resp.status, resp.body)
			require.Contains(t, resp.body, tt.message)
			require.Contains(t, resp.body, ">see the picture</textarea>", "the text is kept")
			require.Empty(t, f.sink.delivered())
		})
	}
}
