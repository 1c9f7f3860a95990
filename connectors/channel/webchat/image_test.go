package webchat

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/hugeimage"
)

// An uploaded image that declares gigapixels would take down the agent's browser that shows
// it inline. The player is there to be told, so it is refused and nothing is delivered.
func TestUploadRefusesImagesDeclaringHugeDimensions(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		body       []byte
		message    string
	}{
		{"a PNG declaring 20000×20000", "bomb.png", hugeimage.PNG(20000, 20000),
			"This image cannot be sent: the PNG image is 20000×20000 pixels (400 megapixels), over the limit of 50 megapixels."},
		{"a JPEG declaring 65535×65535", "bomb.jpg", hugeimage.JPEG(65535, 65535), "the JPEG image is 65535×65535 pixels"},
		{"a GIF with a huge first frame", "bomb.gif", hugeimage.GIFFrame(30000, 30000), "the GIF image is 30000×30000 pixels"},
		{"a WebP declaring a huge canvas", "bomb.webp", hugeimage.WebP(16384, 16384), "the WebP image is 16384×16384 pixels"},
		{"a PNG whose size cannot be read", "cut.png", hugeimage.PNG(10, 10)[:20], "the size of the PNG image cannot be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, true)
			status, body := h.upload(t, visitorToken("v1", time.Now().Add(time.Hour)), "u-1", tt.file, "image/png", tt.body, "")
			require.Equal(t, http.StatusBadRequest, status, "body %s", body)
			code, message := errorCode(t, body)
			require.Equal(t, codeImageTooLarge, code)
			require.Contains(t, message, tt.message)
			require.Empty(t, h.store.attempts(), "nothing may be delivered")
		})
	}
	h := start(t, nil, true)
	status, body := h.upload(t, visitorToken("v1", time.Now().Add(time.Hour)), "u-1", "shot.png", "image/png", hugeimage.PNG(1170, 2532), "")
	require.Equal(t, http.StatusOK, status, "a phone's screenshot is fine: %s", body)
}
