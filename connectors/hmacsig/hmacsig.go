// Package hmacsig verifies the HMAC signatures helpdesks put on their webhooks. Each remote
// signs its own way (Zendesk: base64 HMAC-SHA256 of timestamp and body; Help Scout: base64
// HMAC-SHA1 of the body; Zammad: "sha1=" and hex; Chatwoot: "sha256=" and hex of
// "<timestamp>.<body>"), so a Scheme names the parts and Verify checks them alike: the
// signature in constant time, the timestamp within a maximum skew, so a captured request
// cannot be replayed later.
package hmacsig

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify. A hook answers 401 to all of them; they say why in its log.
var (
	ErrMissing  = errors.New("signature missing")
	ErrMismatch = errors.New("signature does not match")
	ErrStale    = errors.New("timestamp outside the allowed skew")
)

// Encoding is how a signature's bytes are written.
type Encoding int

const (
	Hex Encoding = iota
	Base64
)

// Scheme is one remote's way of signing.
type Scheme struct {
	// Hash is the HMAC's hash: sha256.New (the default when nil) or sha1.New.
	Hash func() hash.Hash
	// Encoding of the signature: Hex (either case) or Base64 (standard, padded).
	Encoding Encoding
	// Prefix precedes the encoded signature in the header ("sha256=", "v1="); it must be there.
	Prefix string
	// Timestamped makes the signed payload the timestamp, Separator and the body, and
	// Verify require a timestamp within MaxSkew; without it the body alone is signed.
	Timestamped bool
	Separator   string
	// MaxSkew is how far a timestamp may be from now, either way; 0 means 5 minutes.
	MaxSkew time.Duration
}

// Schemes of the helpdesks the gateway speaks to, to use as they are.
var (
	// Zendesk: X-Zendesk-Webhook-Signature, base64 HMAC-SHA256 of the
	// X-Zendesk-Webhook-Signature-Timestamp value followed directly by the body.
	Zendesk = Scheme{Hash: sha256.New, Encoding: Base64, Timestamped: true}
	// HelpScout: X-HelpScout-Signature, base64 HMAC-SHA1 of the body.
	HelpScout = Scheme{Hash: sha1.New, Encoding: Base64}
	// Zammad: X-Hub-Signature, "sha1=" and hex HMAC-SHA1 of the body.
	Zammad = Scheme{Hash: sha1.New, Encoding: Hex, Prefix: "sha1="}
	// Chatwoot: X-Chatwoot-Signature, "sha256=" and hex HMAC-SHA256 of
	// "<X-Chatwoot-Timestamp>.<body>".
	Chatwoot = Scheme{Hash: sha256.New, Encoding: Hex, Prefix: "sha256=", Timestamped: true, Separator: "."}
)

const defaultSkew = 5 * time.Minute

// Sign returns the header value s gives body sent at timestamp (ignored unless Timestamped):
// for tests and fakes that play the remote.
func (s Scheme) Sign(secret []byte, timestamp string, body []byte) string {
	sum := s.mac(secret, timestamp, body)
	if s.Encoding == Base64 {
		return s.Prefix + base64.StdEncoding.EncodeToString(sum)
	}
	return s.Prefix + hex.EncodeToString(sum)
}

// Verify checks signature (the header's value) over body and, for a Timestamped scheme, the
// timestamp (Unix seconds or RFC 3339, as the remote sends it) against now. It never says
// how close a wrong signature came.
func (s Scheme) Verify(secret []byte, signature, timestamp string, body []byte, now time.Time) error {
	if len(secret) == 0 {
		// An empty key makes a MAC anyone can compute: refuse rather than accept everything.
		return fmt.Errorf("%w: no secret configured", ErrMismatch)
	}
	signature = strings.TrimSpace(signature)
	if signature == "" || s.Timestamped && strings.TrimSpace(timestamp) == "" {
		return ErrMissing
	}
	if s.Timestamped {
		if err := s.fresh(timestamp, now); err != nil {
			return err
		}
	}
	encoded, ok := strings.CutPrefix(signature, s.Prefix)
	if !ok {
		return fmt.Errorf("%w: want the prefix %q", ErrMismatch, s.Prefix)
	}
	var got []byte
	var err error
	if s.Encoding == Base64 {
		got, err = base64.StdEncoding.DecodeString(encoded)
	} else {
		got, err = hex.DecodeString(encoded)
	}
	if err != nil {
		return fmt.Errorf("%w: not %s", ErrMismatch, s.encodingName())
	}
	if !hmac.Equal(got, s.mac(secret, timestamp, body)) {
		return ErrMismatch
	}
	return nil
}

// fresh checks that timestamp is within the skew of now.
func (s Scheme) fresh(timestamp string, now time.Time) error {
	timestamp = strings.TrimSpace(timestamp)
	var at time.Time
	if secs, err := strconv.ParseInt(timestamp, 10, 64); err == nil {
		at = time.Unix(secs, 0)
	} else if t, err := time.Parse(time.RFC3339, timestamp); err == nil {
		at = t
	} else {
		return fmt.Errorf("%w: timestamp %q is neither Unix seconds nor RFC 3339", ErrStale, timestamp)
	}
	skew := s.MaxSkew
	if skew <= 0 {
		skew = defaultSkew
	}
	if d := now.Sub(at); d > skew || d < -skew {
		return fmt.Errorf("%w: %s off", ErrStale, d.Round(time.Second))
	}
	return nil
}

func (s Scheme) mac(secret []byte, timestamp string, body []byte) []byte {
	h := s.Hash
	if h == nil {
		h = sha256.New
	}
	m := hmac.New(h, secret)
	if s.Timestamped {
		m.Write([]byte(timestamp))
		m.Write([]byte(s.Separator))
	}
	m.Write(body)
	return m.Sum(nil)
}

func (s Scheme) encodingName() string {
	if s.Encoding == Base64 {
		return "base64"
	}
	return "hex"
}
