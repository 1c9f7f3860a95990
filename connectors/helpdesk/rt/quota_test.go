package rt

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	blobstore "github.com/casino-support/gateway/router/store/blobs"
)

// With the gateway's attachment storage full, an agent's file cannot be kept, but fetching it
// again would hold up every later reply until room is freed: the reply goes now, naming the
// file and saying why, and the file counts as settled, not as failing.
func TestFilesWhenStorageIsFull(t *testing.T) {
	content := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 terms\n%%EOF\n"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 7, "Content": content})
	}))
	t.Cleanup(srv.Close)
	full, err := blobstore.Open(t.TempDir(), blobstore.Options{MaxBytes: 1 << 20, Quota: 4})
	require.NoError(t, err)
	h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, blobs: full, log: discardLog()}
	part := attachment{ID: "7", ContentType: "application/pdf", Filename: "terms.pdf"}
	atts, lines, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
	require.NoError(t, err)
	require.Empty(t, atts)
	require.Equal(t, []string{"[file not sent, the gateway's attachment storage is full: terms.pdf]"}, lines)
	require.Empty(t, h.poller.fileFailures)
}
