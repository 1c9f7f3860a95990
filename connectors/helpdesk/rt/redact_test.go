package rt

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// RT's URL may carry credentials before the host, and a search's query names players (their
// e-mail addresses in TicketSQL): net/http quotes the whole URL in its errors, which reach
// logs and dead letters. The errors say which request failed without either.
func TestClientErrorsHideTheURLsSecrets(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	base, err := url.Parse(gone.URL + "/REST/2.0")
	require.NoError(t, err)
	base.User = url.UserPassword("SECRET-USER", "SECRET-PASS")
	c := &client{base: base.String(), token: "t", http: &http.Client{}}
	err = c.do(t.Context(), http.MethodGet, "/tickets", url.Values{"query": {"Requestor = 'SECRET@player.example'"}}, nil, nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRET")
	require.Contains(t, err.Error(), "/REST/2.0/tickets?[redacted]", "which request failed")

	c.base = "http://SECRET@[::1" // does not parse: the error quotes it all the same
	err = c.do(t.Context(), http.MethodGet, "/tickets", nil, nil, nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRET")
}
