package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

// verifyLikeAnOperator is the verifier docs/webhook.md tells operators to write, built only
// from the standard library, so Sign is checked against the documented scheme rather than
// against itself.
func verifyLikeAnOperator(secret, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > maxSkew {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(signature), []byte(want))
}

func TestSignatureScheme(t *testing.T) {
	now := time.Unix(1_795_341_600, 0)
	body := []byte(`{"event":"reply.created","reply_id":"r1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := webhook.Sign([]byte(testSecret), now, body)
	tests := []struct {
		name, secret, timestamp, signature string
		body                               []byte
		at                                 time.Time
		wantErr                            error
	}{
		{"good", testSecret, ts, good, body, now, nil},
		{"good within skew", testSecret, ts, good, body, now.Add(4 * time.Minute), nil},
		{"wrong secret", "another-secret-of-16+", ts, good, body, now, webhook.ErrBadSignature},
		{"tampered body", testSecret, ts, good, []byte(`{"event":"reply.created","reply_id":"r2"}`), now, webhook.ErrBadSignature},
		{"timestamp changed", testSecret, strconv.FormatInt(now.Unix()+1, 10), good, body, now, webhook.ErrBadSignature},
		{"stale", testSecret, ts, good, body, now.Add(6 * time.Minute), webhook.ErrStaleTimestamp},
		{"future", testSecret, ts, good, body, now.Add(-6 * time.Minute), webhook.ErrStaleTimestamp},
		{"timestamp not a number", testSecret, "yesterday", good, body, now, webhook.ErrStaleTimestamp},
		{"missing signature", testSecret, ts, "", body, now, webhook.ErrMissingSignature},
		{"missing timestamp", testSecret, "", good, body, now, webhook.ErrMissingSignature},
		{"unversioned signature", testSecret, ts, good[len("v1="):], body, now, webhook.ErrBadSignature},
		{"not hex", testSecret, ts, "v1=zz", body, now, webhook.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify([]byte(tt.secret), tt.timestamp, tt.signature, tt.body, tt.at, 5*time.Minute)
			if tt.wantErr == nil {
				require.NoError(t, err, "Verify()")
			} else {
				require.ErrorIs(t, err, tt.wantErr, "Verify()")
			}
			// The documented verifier agrees with the implementation on every case.
			require.Equal(t, tt.wantErr == nil, verifyLikeAnOperator(tt.secret, tt.timestamp, tt.signature, tt.body, tt.at, 5*time.Minute))
		})
	}
}

// countingReader is an endless body that counts what the handler read of it.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += int64(len(p))
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// A request that cannot be signed is refused before its body is read: bodies may be tens of
// MiB now that replies carry files, and the hook is open to anyone.
func TestHookRefusesUnsignedBeforeReading(t *testing.T) {
	hd, err := webhook.New(testName, webhook.Config{URL: "http://127.0.0.1:9/unused", Secret: testSecret, APIToken: testToken,
		Timeout: time.Second, MaxSkew: 5 * time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{})
	require.NoError(t, err)
	now := time.Now()
	for name, headers := range map[string]map[string]string{
		"no signature":    {},
		"stale":           {webhook.HeaderTimestamp: strconv.FormatInt(now.Add(-time.Hour).Unix(), 10), webhook.HeaderSignature: webhook.Sign([]byte(testSecret), now.Add(-time.Hour), nil)},
		"not a signature": {webhook.HeaderTimestamp: strconv.FormatInt(now.Unix(), 10), webhook.HeaderSignature: "v1=abc"},
	} {
		t.Run(name, func(t *testing.T) {
			body := &countingReader{}
			req := httptest.NewRequest(http.MethodPost, "/hooks/"+testName, body)
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			hd.ServeHTTP(rec, req)
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			require.Zero(t, body.n, "the body must not be read")
		})
	}
}

// Large bodies that are not verified yet are read a few at a time, at most one per client
// address, and each for a bounded time: forged large requests trickling in (a fake signature,
// a large Content-Length, a byte every few seconds) used to hold every slot from one address,
// and signed replies with files got 503 until the attacker let go.
func TestHookBoundsLargeUnverifiedReads(t *testing.T) {
	clk := &clock{}
	clk.Set(time.Now())
	hd, err := webhook.New(testName, webhook.Config{URL: "http://127.0.0.1:9/unused", Secret: testSecret, APIToken: testToken,
		Timeout: time.Second, MaxSkew: 5 * time.Minute, AttachmentURLTTL: time.Hour}, webhook.Deps{Now: clk.Now, MaxAttachmentBytes: 4 << 20})
	require.NoError(t, err)
	forged := func(from string, body io.Reader, length int64) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+testName, body)
		req.RemoteAddr = from + ":40000"
		req.ContentLength = length
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(clk.Now().Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, "v1="+strings.Repeat("ab", 32))
		return req
	}
	type sender struct {
		pw   *io.PipeWriter
		done chan int
	}
	// trickle starts a slow sender at from and returns once it holds a slot, or its answer
	// when it was turned away.
	trickle := func(from string) (*sender, int) {
		pr, pw := io.Pipe()
		s := &sender{pw: pw, done: make(chan int, 1)}
		go func() {
			rec := httptest.NewRecorder()
			hd.ServeHTTP(rec, forged(from, pr, 8<<20))
			pr.CloseWithError(io.ErrClosedPipe) // a refused sender's writes fail instead of hanging
			s.done <- rec.Code
		}()
		// A write on a pipe returns once the handler read it: the sender then holds a slot.
		wrote := make(chan error, 1)
		go func() { _, err := pw.Write([]byte("{")); wrote <- err }()
		select {
		case err := <-wrote:
			if err != nil { // turned away: the pipe was closed once the handler answered
				return nil, <-s.done
			}
			return s, 0
		case code := <-s.done:
			return nil, code
		case <-time.After(10 * time.Second):
			t.Fatal("a slow sender was neither read nor answered")
		}
		return nil, 0
	}

	// One address: one slot, however many connections it opens.
	first, code := trickle("203.0.113.1")
	require.NotNil(t, first, "answered %d", code)
	for range 3 {
		s, code := trickle("203.0.113.1")
		require.Nil(t, s)
		require.Equal(t, http.StatusServiceUnavailable, code, "a second large read from one address waits its turn")
	}
	// Other addresses take the other slots, up to four in all.
	senders := []*sender{first}
	for _, from := range []string{"203.0.113.2", "203.0.113.3", "2001:db8:1:2::1"} {
		s, code := trickle(from)
		require.NotNil(t, s, "%s answered %d", from, code)
		senders = append(senders, s)
	}
	_, code = trickle("2001:db8:1:2::2")
	require.Equal(t, http.StatusServiceUnavailable, code, "an IPv6 /64 counts as one address")
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, forged("203.0.113.9", strings.NewReader("{}"), 4<<20))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, "every slot is taken")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))

	small := httptest.NewRecorder()
	hd.ServeHTTP(small, forged("203.0.113.9", strings.NewReader(`{"event":"reply.created"}`), 25))
	require.Equal(t, http.StatusUnauthorized, small.Code, "small requests are not held up")

	// Each slot is held for a bounded time only: past it, the trickle's next bytes end the read.
	clk.Set(clk.Now().Add(2 * time.Minute))
	for _, s := range senders {
		go s.pw.Write([]byte(" "))
		select {
		case code := <-s.done:
			require.Equal(t, http.StatusRequestTimeout, code)
		case <-time.After(10 * time.Second):
			t.Fatal("a sender past its hold was not cut off")
		}
		s.pw.Close()
	}
	rec = httptest.NewRecorder()
	hd.ServeHTTP(rec, forged("203.0.113.1", strings.NewReader("{}"), 4<<20))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "the slots are free again")
}
