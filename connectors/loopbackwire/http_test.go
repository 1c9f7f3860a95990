package loopbackwire

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// A remote's URL may carry a key in its query; net/http quotes the URL in its errors, which
// reach logs and dead letters.
func TestPostErrorsHideTheURLsQuery(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	c := NewClient(nil, "")
	var out IDResponse
	err := c.Post(t.Context(), gone.URL+"/send?key=SECRET", "m-1", struct{}{}, &out)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRET")
	require.Contains(t, err.Error(), "/send?[redacted]")
}
