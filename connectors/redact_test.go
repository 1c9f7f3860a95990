package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRedactURLError(t *testing.T) {
	base := &url.Error{Op: "Post", URL: "https://key:SECRET@tickets.example/hook?api_key=SECRET", Err: context.DeadlineExceeded}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"a url.Error", base, `Post "https://[redacted]@tickets.example/hook?[redacted]": context deadline exceeded`},
		{"wrapped", fmt.Errorf("webhook: %w", &url.Error{Op: "Get", URL: "http://x/?k=SECRET", Err: errors.New("refused")}),
			`webhook: Get "http://x/?[redacted]": refused`},
		{"another error", errors.New("HTTP 500: SECRET in a body is not a URL"), "HTTP 500: SECRET in a body is not a URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactURLError(tt.err)
			require.EqualError(t, got, tt.want)
			if _, ok := errors.AsType[*url.Error](tt.err); ok {
				_, ok := errors.AsType[*url.Error](got)
				require.True(t, ok, "still a *url.Error")
			}
		})
	}
	require.ErrorIs(t, RedactURLError(base), context.DeadlineExceeded, "the chain is kept")
	require.Nil(t, RedactURLError(nil))
	require.Contains(t, base.Error(), "SECRET", "the caller's error is not changed")
}

// What net/http itself returns for a timeout is redacted and still a timeout.
func TestRedactURLErrorOfTheHTTPClient(t *testing.T) {
	client := &http.Client{Timeout: time.Nanosecond}
	_, err := client.Get("http://192.0.2.1/hook?api_key=SECRET")
	require.Error(t, err)
	red := RedactURLError(err)
	require.NotContains(t, red.Error(), "SECRET")
	ue, ok := errors.AsType[*url.Error](red)
	require.True(t, ok)
	require.True(t, ue.Timeout())
}
