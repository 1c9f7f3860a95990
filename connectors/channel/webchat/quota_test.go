package webchat

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/blobs"
)

// With the gateway's attachment storage full, the player is told so, with a code of its own
// that the page can put in the player's language, and not that the file is too large.
func TestUploadWhenStorageIsFull(t *testing.T) {
	full, err := blobs.Open(t.TempDir(), blobs.Options{MaxBytes: 1 << 20, Quota: 16})
	require.NoError(t, err)
	h := start(t, func(_ *Config, d *Deps) { d.Blobs = full }, true)
	status, body := h.upload(t, visitorToken("v1", time.Now().Add(time.Hour)), "u-1", "passport.pdf", "application/pdf", minimalPDF, "")
	require.Equal(t, http.StatusInsufficientStorage, status, "body %s", body)
	code, message := errorCode(t, body)
	require.Equal(t, codeStorageFull, code)
	require.Contains(t, message, "attachment storage is full")
	require.NotContains(t, message, "too large")
	require.Empty(t, h.store.attempts(), "nothing may be delivered")
}
