package webhookreceiver

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

// Validating wraps the gateway's handler next: every request to one of the documented paths
// and the answer it gets are validated against c, and failures are passed to report. Requests
// the test sends deliberately malformed are validated too; pass skipRequest to exempt them.
func (c *Contract) Validating(next http.Handler, report func(error), skipRequest func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		template, params, ok := c.GatewayTemplate(r.URL.Path)
		if !ok {
			report(fmt.Errorf("%s %s is not in the contract", r.Method, r.URL.Path))
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		x := Exchange{Template: template, PathParams: params, Request: r, Body: body}
		if skipRequest == nil || !skipRequest(r) {
			if err := c.ValidateRequest(r.Context(), x); err != nil {
				report(err)
			}
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		x.Status, x.Header, x.Response = rec.Code, rec.Header(), rec.Body.Bytes()
		if err := c.ValidateResponse(r.Context(), x); err != nil {
			report(err)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}
