package loopbackwire

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// MaxBody caps every request body the loopback hooks and fakes read: an endless body must not
// exhaust memory, and real webhook senders keep well under it.
const MaxBody = 1 << 20

// ReadRequest checks what every loopback hook requires (POST, the bearer secret when one is
// set, a body of at most MaxBody) and decodes the JSON body into dst. On failure it has
// answered the request and returns false.
func ReadRequest(w http.ResponseWriter, r *http.Request, secret string, dst any) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		WriteError(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return false
	}
	if !authorized(r, secret) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="loopback"`)
		WriteError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return false
	}
	status, err := decodeBody(w, r, dst)
	if err != nil {
		WriteError(w, status, err.Error())
		return false
	}
	return true
}

// authorized compares in constant time so the secret cannot be guessed byte by byte.
func authorized(r *http.Request, secret string) bool {
	if secret == "" {
		return true
	}
	want := "Bearer " + secret
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) == 1
}

// decodeBody reads the whole body (so trailing bytes past MaxBody are caught, not ignored)
// and decodes it; it returns the status to answer with on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) (int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", MaxBody)
		}
		return http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return http.StatusBadRequest, fmt.Errorf("malformed JSON: %w", err)
	}
	return http.StatusOK, nil
}

// WriteError answers status with msg as ErrorBody.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, ErrorBody{Error: msg})
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; a client that went away cannot be told anything more.
	_ = json.NewEncoder(w).Encode(v)
}

// Client POSTs JSON to loopback remotes and turns their answers into the errors the router
// acts on. The channel and the helpdesk share it so both map statuses the same way.
type Client struct {
	HTTP   *http.Client
	Secret string
}

// NewClient returns a client with secret as bearer token; a nil httpClient gets a default
// one with a timeout, since a request must not hang a delivery worker forever.
func NewClient(httpClient *http.Client, secret string) Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return Client{HTTP: httpClient, Secret: secret}
}

// Post sends in as JSON with the idempotency key and decodes a 2xx answer into out. Errors
// follow connectors.HTTPStatusError; network failures and undecodable 2xx answers are plain
// errors, which the router retries (the idempotency key makes a repeat harmless).
func (c Client) Post(ctx context.Context, url, idempotencyKey string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("encode request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(fmt.Errorf("build request: %w", connectors.RedactURLError(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	if c.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+c.Secret)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		// It names method and URL; the URL's query may hold a credential.
		return connectors.RedactURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return connectors.HTTPStatusError(resp, time.Now())
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxBody)).Decode(out); err != nil {
		return fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody)) // lets the connection be reused
	return nil
}
