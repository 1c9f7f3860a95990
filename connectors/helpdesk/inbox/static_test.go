package inbox

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStaticServesFilesOnly: the static files are public, so their directories must not be
// listed to anyone who asks.
func TestStaticServesFilesOnly(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path   string
		status int
		body   string // a part of the body, when the file is served
	}{
		{path: "/inbox/static/inbox.css", status: http.StatusOK, body: "--accent"},
		{path: "/inbox/static/inbox.js", status: http.StatusOK, body: "use strict"},
		{path: "/inbox/static/", status: http.StatusNotFound},
		{path: "/inbox/static", status: http.StatusNotFound}, // redirected to /inbox/static/ first
		{path: "/inbox/static/./", status: http.StatusNotFound},
		{path: "/inbox/static//", status: http.StatusNotFound},
		{path: "/inbox/static/missing.css", status: http.StatusNotFound},
		{path: "/inbox/static/../templates/", status: http.StatusNotFound},
		{path: "/inbox/static/%2e%2e/templates/list.html", status: http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(f.srv.URL + tc.path) // follows redirects, as a browser does
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			if tc.body == "" {
				require.NotContains(t, string(body), "inbox.css", "no listing of the directory")
				return
			}
			require.Contains(t, string(body), tc.body)
		})
	}
}
