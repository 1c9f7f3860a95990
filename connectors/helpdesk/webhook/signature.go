package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of the signed-request scheme, in both directions.
const (
	HeaderEvent          = "X-Gateway-Event"
	HeaderTimestamp      = "X-Gateway-Timestamp"
	HeaderSignature      = "X-Gateway-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
	// signaturePrefix versions the scheme so a future one can be introduced beside it.
	signaturePrefix = "v1="
)

// Errors of Verify; the hook answers 401 for all of them.
var (
	ErrMissingSignature = errors.New("missing signature or timestamp header")
	ErrBadSignature     = errors.New("signature does not match")
	ErrStaleTimestamp   = errors.New("timestamp outside the allowed skew")
)

// Sign returns the X-Gateway-Signature value of body sent at ts: "v1=" and the hex
// HMAC-SHA256 of secret over "<unix seconds>.<body>". Signing the timestamp with the body lets
// receivers refuse replays of an old request.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the timestamp and signature headers of a signed request against body: the
// timestamp must be within maxSkew of now (either way) and the signature must match in
// constant time.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	got, err := checkHeaders(timestamp, signature, now, maxSkew)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	return nil
}

// checkHeaders does what Verify can without the body and returns the signature's bytes, so
// a receiver can refuse an unsigned or stale request before reading a large body.
func checkHeaders(timestamp, signature string, now time.Time, maxSkew time.Duration) ([]byte, error) {
	if timestamp == "" || signature == "" {
		return nil, ErrMissingSignature
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: timestamp %q is not unix seconds", ErrStaleTimestamp, timestamp)
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > maxSkew || skew < -maxSkew {
		return nil, fmt.Errorf("%w: %s off", ErrStaleTimestamp, skew.Round(time.Second))
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signature, signaturePrefix))
	if err != nil || !strings.HasPrefix(signature, signaturePrefix) || len(got) != sha256.Size {
		return nil, fmt.Errorf("%w: want v1=<64 hex digits>", ErrBadSignature)
	}
	return got, nil
}
