package voicefake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Answer is a webhook's answer as the provider got it.
type Answer struct {
	Status int
	Body   []byte
}

// TwilioCaller calls webhooks as Twilio does: form POSTs signed with X-Twilio-Signature.
type TwilioCaller struct {
	AuthToken string
	Client    *http.Client
}

// Sign computes X-Twilio-Signature for a POST of form to fullURL, by the documented
// algorithm: the URL, then each parameter's name and value sorted by name; HMAC-SHA1 with
// the auth token; Base64.
func Sign(authToken, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vals := slices.Clone(form[k])
		slices.Sort(vals)
		for _, v := range vals {
			b.WriteString(k + v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Post sends form to fullURL signed with the auth token.
func (c TwilioCaller) Post(ctx context.Context, fullURL string, form url.Values) (Answer, error) {
	return c.PostSigned(ctx, fullURL, form, Sign(c.AuthToken, fullURL, form))
}

// PostSigned sends form with the given signature ("" sends none).
func (c TwilioCaller) PostSigned(ctx context.Context, fullURL string, form url.Values, signature string) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fullURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	return do(c.Client, req)
}

// VonageCaller calls webhooks as Vonage does with signed webhooks on: JSON bodies with
// Authorization: Bearer, a JWT HS256 with the signature secret carrying the body's hash.
type VonageCaller struct {
	SignatureSecret string
	Client          *http.Client
}

// Token returns the signed-webhook JWT for body.
func (c VonageCaller) Token(body []byte) string {
	sum := sha256.Sum256(body)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iat": time.Now().Unix(), "jti": rand.Text(),
		"iss": "Vonage", "payload_hash": hex.EncodeToString(sum[:])}).SignedString([]byte(c.SignatureSecret))
	if err != nil {
		panic("voicefake: HS256 signing failed: " + err.Error())
	}
	return tok
}

// Post sends v as JSON to fullURL, signed.
func (c VonageCaller) Post(ctx context.Context, fullURL string, v any) (Answer, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return Answer{}, err
	}
	return c.PostToken(ctx, fullURL, body, c.Token(body))
}

// PostToken sends body with the given token ("" sends none).
func (c VonageCaller) PostToken(ctx context.Context, fullURL string, body []byte, token string) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fullURL, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(c.Client, req)
}

func do(client *http.Client, req *http.Request) (Answer, error) {
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Answer{}, fmt.Errorf("read answer: %w", err)
	}
	return Answer{Status: resp.StatusCode, Body: body}, nil
}
