package fakehold

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServeHoldsPickedWrites(t *testing.T) {
	var mu sync.Mutex
	var writes Writes
	done := 0
	route := func(w http.ResponseWriter, r *http.Request) {
		done++
		w.Header().Set("X-Done", "yes")
		w.WriteHeader(http.StatusCreated)
	}
	pick := func(r *http.Request) bool { return r.Method == http.MethodPost }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Serve(w, r, &mu, &writes, route, pick)
	}))
	t.Cleanup(srv.Close)

	held := func() <-chan string {
		mu.Lock()
		defer mu.Unlock()
		return writes.Hold(1)
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/tickets", nil)
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err, "the held answer never comes")
	require.Equal(t, "POST /tickets", <-held)

	resp, err := http.Post(srv.URL+"/tickets", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "one hold only")
	require.Equal(t, "yes", resp.Header.Get("X-Done"))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, done, "the held write was done")
}
