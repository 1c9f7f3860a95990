package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// loopbackRequestsPerSecond measures what this machine does without the gateway: small Go
// HTTP requests on loopback, from a few concurrent keep-alive clients, for d. Figures of two
// machines compare once divided by this.
func loopbackRequestsPerSecond(ctx context.Context, d time.Duration) (float64, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var mu sync.Mutex
	var failed error
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := client.Get(srv.URL)
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return 0, fmt.Errorf("loopback reference: %w", failed)
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
