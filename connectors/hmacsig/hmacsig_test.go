package hmacsig_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/hmacsig"
)

var (
	secret = []byte("whsec-test")
	body   = []byte(`{"ticket":{"id":42},"comment":"Grüße"}`)
	now    = time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
)

// Independent computations of each remote's documented scheme, so Sign is checked against
// the documentation rather than against itself.
func TestSchemesMatchTheRemotesDocumentation(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	iso := now.Format(time.RFC3339)
	sha256Of := func(parts ...string) []byte {
		m := hmac.New(sha256.New, secret)
		for _, p := range parts {
			m.Write([]byte(p))
		}
		return m.Sum(nil)
	}
	sha1Of := func(parts ...string) []byte {
		m := hmac.New(sha1.New, secret)
		for _, p := range parts {
			m.Write([]byte(p))
		}
		return m.Sum(nil)
	}
	tests := []struct {
		name      string
		scheme    hmacsig.Scheme
		timestamp string
		want      string
	}{
		{"zendesk", hmacsig.Zendesk, iso, base64.StdEncoding.EncodeToString(sha256Of(iso, string(body)))},
		{"helpscout", hmacsig.HelpScout, "", base64.StdEncoding.EncodeToString(sha1Of(string(body)))},
		{"zammad", hmacsig.Zammad, "", "sha1=" + hex.EncodeToString(sha1Of(string(body)))},
		{"chatwoot", hmacsig.Chatwoot, ts, "sha256=" + hex.EncodeToString(sha256Of(ts, ".", string(body)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.scheme.Sign(secret, tt.timestamp, body))
			require.NoError(t, tt.scheme.Verify(secret, tt.want, tt.timestamp, body, now))
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	good := hmacsig.Chatwoot.Sign(secret, ts, body)
	stale := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	tests := []struct {
		name             string
		scheme           hmacsig.Scheme
		secret           []byte
		signature, stamp string
		body             []byte
		want             error
	}{
		{"no signature", hmacsig.Chatwoot, secret, "", ts, body, hmacsig.ErrMissing},
		{"no timestamp", hmacsig.Chatwoot, secret, good, "", body, hmacsig.ErrMissing},
		{"other body", hmacsig.Chatwoot, secret, good, ts, []byte(`{"ticket":{"id":43}}`), hmacsig.ErrMismatch},
		{"other secret", hmacsig.Chatwoot, []byte("other"), good, ts, body, hmacsig.ErrMismatch},
		{"empty secret", hmacsig.Chatwoot, nil, hmacsig.Chatwoot.Sign(nil, ts, body), ts, body, hmacsig.ErrMismatch},
		{"missing prefix", hmacsig.Chatwoot, secret, good[len("sha256="):], ts, body, hmacsig.ErrMismatch},
		{"not hex", hmacsig.Chatwoot, secret, "sha256=zz", ts, body, hmacsig.ErrMismatch},
		{"truncated", hmacsig.Chatwoot, secret, good[:len(good)-2], ts, body, hmacsig.ErrMismatch},
		{"stale", hmacsig.Chatwoot, secret, hmacsig.Chatwoot.Sign(secret, stale, body), stale, body, hmacsig.ErrStale},
		{"from the future", hmacsig.Chatwoot, secret, good, strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), body, hmacsig.ErrStale},
		{"garbage timestamp", hmacsig.Chatwoot, secret, good, "yesterday", body, hmacsig.ErrStale},
		{"timestamp not signed along", hmacsig.Chatwoot, secret, good, strconv.FormatInt(now.Unix()+1, 10), body, hmacsig.ErrMismatch},
		{"base64 not base64", hmacsig.HelpScout, secret, "!!!", "", body, hmacsig.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.scheme.Verify(tt.secret, tt.signature, tt.stamp, tt.body, now), tt.want)
		})
	}
}

func TestVerifyAcceptsWithinSkew(t *testing.T) {
	s := hmacsig.Zendesk
	s.MaxSkew = time.Minute
	for _, off := range []time.Duration{-time.Minute, 0, 59 * time.Second} {
		stamp := now.Add(off).Format(time.RFC3339)
		require.NoError(t, s.Verify(secret, s.Sign(secret, stamp, body), stamp, body, now), "offset %s", off)
	}
	stamp := now.Add(-61 * time.Second).Format(time.RFC3339)
	require.ErrorIs(t, s.Verify(secret, s.Sign(secret, stamp, body), stamp, body, now), hmacsig.ErrStale)
}
