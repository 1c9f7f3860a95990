package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// graph makes the Graph API requests of one phone number.
type graph struct {
	base   *url.URL // api_url + "/" + api_version
	token  string
	client *http.Client
	now    func() time.Time
}

// APIError is the Graph API's error body, {"error":{"message","type","code","error_subcode",
// "error_data":{"details"},"fbtrace_id"}}, with the HTTP status it came with.
type APIError struct {
	Status    int    `json:"-"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	FBTrace   string `json:"fbtrace_id"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("HTTP %d, code %d: %s", e.Status, e.Code, e.Message)
	if e.ErrorData.Details != "" {
		s += ": " + e.ErrorData.Details
	}
	if e.FBTrace != "" {
		s += " (fbtrace_id " + e.FBTrace + ")"
	}
	return s
}

// The Cloud API error codes the channel gives a meaning of their own (Meta's error code
// reference, developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
const (
	codeAuth            = 0      // AuthException: the token cannot be used
	codeAPIMethod       = 3      // capability or permission missing
	codeTooManyCalls    = 4      // the app's Graph API call rate limit
	codePermission      = 10     // permission not granted or removed
	codeTokenExpired    = 190    // access token expired or invalidated
	codeInvalidParam    = 100    // a parameter the endpoint does not take or a value it refuses
	codeWABARateLimit   = 80007  // the WhatsApp Business Account's rate limit
	codeThroughput      = 130429 // the number's message throughput (80 a second by default)
	codeUndeliverable   = 131026 // the player cannot receive it (no WhatsApp, old app, blocked)
	codeWindowClosed    = 131047 // more than 24 hours since the player last wrote: templates only
	codeUnsupportedType = 131051 // a message type the Cloud API does not support
	codePairRateLimit   = 131056 // too many messages to one player in a short time
	codeNotRegistered   = 133010 // the business number is not registered
)

// errWindowClosed marks a reply refused because the player's customer-service window is closed.
var errWindowClosed = errors.New("the player's 24-hour customer-service window is closed: only a template message can reach them")

// classify maps a failed Graph API call to the router's retry classes. The code decides before
// the HTTP status, since the Graph API answers most errors, throttling included, with 400.
func classify(e *APIError, retryAfter time.Duration) error {
	switch {
	case e.Code == codeTooManyCalls || e.Code == codeWABARateLimit || e.Code == codeThroughput:
		return connectors.RetryAfter(max(retryAfter, connectors.DefaultRetryAfter), e)
	case e.Code == codePairRateLimit:
		// About one message every six seconds is what one player may receive.
		return connectors.RetryAfter(max(retryAfter, 6*time.Second), e)
	case e.Code == codeWindowClosed:
		return connectors.Permanent(fmt.Errorf("%w: %w", errWindowClosed, e))
	case e.Code == codeAuth || e.Code == codeTokenExpired || e.Code == codeAPIMethod || e.Code == codePermission ||
		(e.Code >= 200 && e.Code <= 299):
		return connectors.Unauthorized(e)
	case e.Code == codeUndeliverable || e.Code == codeUnsupportedType || e.Code == codeInvalidParam || e.Code == codeNotRegistered:
		return connectors.Permanent(e)
	}
	return connectors.ClassifyStatus(e.Status, retryAfter, e)
}

// endpoint is the URL of path under the versioned base.
func (g *graph) endpoint(path string) string {
	u := *g.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(path, "/")
	return u.String()
}

// call makes a Graph API request and decodes a 2xx answer's JSON into out (nil: ignored).
func (g *graph) call(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, g.endpoint(path), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := g.do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if err := g.failure(resp); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: undecodable answer: %w", method, path, err)
	}
	return nil
}

// do sends req with the access token; a transport error is retryable and never shows a URL's
// query (a media URL's signature).
func (g *graph) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, connectors.RedactURLError(err)
	}
	return resp, nil
}

// failure returns nil for a 2xx answer, else its error classified for the router.
func (g *graph) failure(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var retryAfter time.Duration
	if h := resp.Header.Get("Retry-After"); h != "" {
		retryAfter = connectors.ParseRetryAfter(h, g.now())
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Error == nil {
		snippet := strings.TrimSpace(string(raw[:min(len(raw), 512)]))
		return connectors.ClassifyStatus(resp.StatusCode, retryAfter, fmt.Errorf("HTTP %d: %s", resp.StatusCode, snippet))
	}
	body.Error.Status = resp.StatusCode
	return classify(body.Error, retryAfter)
}

// mediaInfo is the answer of GET /{media-id}.
type mediaInfo struct {
	URL      string      `json:"url"`
	MIMEType string      `json:"mime_type"`
	SHA256   string      `json:"sha256"`
	FileSize json.Number `json:"file_size"`
	ID       string      `json:"id"`
}

// download fetches a player's media: GET /{media-id} for its URL (valid for five minutes),
// then the URL with the access token. A media ID the API does not know (expired after 30
// days, or never there) fails permanently; the rest is worth another attempt.
func (g *graph) download(ctx context.Context, mediaID string) (io.ReadCloser, error) {
	if mediaID == "" || strings.ContainsAny(mediaID, "/?#") {
		return nil, connectors.Permanent(fmt.Errorf("media ID %q", mediaID))
	}
	var info mediaInfo
	if err := g.call(ctx, http.MethodGet, url.PathEscape(mediaID), "", nil, &info); err != nil {
		return nil, err
	}
	u, err := url.Parse(info.URL)
	if err != nil || !g.mayFetch(u) {
		return nil, connectors.Permanent(fmt.Errorf("media %s: URL %q is not one to send the access token to", mediaID, redactedURL(info.URL)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("media %s: %w", mediaID, err)
	}
	resp, err := g.do(req)
	if err != nil {
		return nil, fmt.Errorf("media %s: download: %w", mediaID, err)
	}
	if err := g.failure(resp); err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("media %s: download: %w", mediaID, err)
	}
	return resp.Body, nil
}

// mayFetch reports whether the access token may go to u: an HTTPS URL (Meta's media host), or
// one on the API's own scheme and host (a fake on loopback).
func (g *graph) mayFetch(u *url.URL) bool {
	if u.Host == "" {
		return false
	}
	return u.Scheme == "https" || (u.Scheme == g.base.Scheme && u.Host == g.base.Host)
}

func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// upload stores a file with the Cloud API for sending: POST /{phone_number_id}/media as
// multipart form data (messaging_product, type, file), which answers {"id"}.
func (g *graph) upload(ctx context.Context, phoneNumberID string, content io.Reader, name, mediaType string) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", mediaType)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", mediaType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	if _, err := io.Copy(part, content); err != nil {
		return "", fmt.Errorf("upload %s: read the attachment: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := g.call(ctx, http.MethodPost, phoneNumberID+"/media", w.FormDataContentType(), &buf, &out); err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	if out.ID == "" {
		return "", fmt.Errorf("upload %s: no media ID in the answer", name)
	}
	return out.ID, nil
}

// send posts one message to /{phone_number_id}/messages and returns its wamid.
func (g *graph) send(ctx context.Context, phoneNumberID string, m outMessage) (string, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := g.call(ctx, http.MethodPost, phoneNumberID+"/messages", "application/json", bytes.NewReader(body), &out); err != nil {
		return "", err
	}
	if len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return "", errors.New("send: no message ID in the answer")
	}
	return out.Messages[0].ID, nil
}

// phoneNumber is what GET /{phone_number_id} tells of the number, for the health details.
type phoneNumber struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	VerifiedName       string `json:"verified_name"`
	QualityRating      string `json:"quality_rating"`
}

func (g *graph) phoneNumber(ctx context.Context, phoneNumberID string) (phoneNumber, error) {
	var pn phoneNumber
	err := g.call(ctx, http.MethodGet, phoneNumberID+"?fields=display_phone_number,verified_name,quality_rating", "", nil, &pn)
	return pn, err
}
