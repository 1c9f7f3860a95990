package zendesk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/zendeskfake"
)

// contractTransport checks every request the connector sends and every answer the fake gives
// against Zendesk's published OpenAPI description (testdata/zendesk-openapi.yaml): the
// connector speaks Zendesk's API as documented, and the fake answers as Zendesk does.
type contractTransport struct {
	doc  *openapi3.T
	base http.RoundTripper

	mu       sync.Mutex
	problems []string
	checked  map[string]int // "METHOD template" → answers validated
}

func loadContract(t *testing.T) *contractTransport {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("testdata/zendesk-openapi.yaml")
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()), "the trimmed description is a valid OpenAPI document")
	return &contractTransport{doc: doc, base: http.DefaultTransport, checked: map[string]int{}}
}

// findRoute matches a request to the operation of its path template ("{name}" matches one
// segment); the description's server is Zendesk's host, the fake's is another.
func (c *contractTransport) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	for template, item := range c.doc.Paths.Map() {
		tsegs := strings.Split(strings.Trim(template, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
				params[strings.Trim(ts, "{}")] = segs[i]
			} else if ts != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		op := item.GetOperation(req.Method)
		if op == nil {
			return nil, nil, fmt.Errorf("no %s %s in the description", req.Method, template)
		}
		return &routers.Route{Spec: c.doc, Path: template, PathItem: item, Method: req.Method, Operation: op}, params, nil
	}
	return nil, nil, fmt.Errorf("no path %s in the description", req.URL.Path)
}

func (c *contractTransport) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, params, err := c.findRoute(req)
	if err != nil {
		if !strings.HasPrefix(req.URL.Path, "/api/") {
			return c.base.RoundTrip(req) // attachment downloads (content_url) are no API operation
		}
		c.problem("%s %s: %v", req.Method, req.URL.Path, err)
		return c.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	opts := &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: req.Clone(context.WithoutCancel(req.Context())), PathParams: params, Route: route, Options: opts}
	in.Request.Body = io.NopCloser(bytes.NewReader(body))
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		c.problem("request %s %s: %v", req.Method, route.Path, err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(answer)), Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: false}}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		c.problem("answer %d to %s %s: %v\n%s", resp.StatusCode, req.Method, route.Path, err, answer)
	}
	c.mu.Lock()
	c.checked[req.Method+" "+route.Path]++
	c.mu.Unlock()
	return resp, nil
}

// TestSpeaksZendesksContract runs what the connector does (a ticket with a file, comments,
// an Update, a follow-up of a closed ticket, agents' replies read from audits, the poller's
// export) with every exchange checked against the published description.
func TestSpeaksZendesksContract(t *testing.T) {
	contract := loadContract(t)
	zd := zendeskfake.New()
	t.Cleanup(zd.Close)
	zd.ExportPage = 1
	cfg := DefaultConfig()
	cfg.URL, cfg.Email, cfg.Token, cfg.WebhookSecret, cfg.ReconcileInterval = zd.URL, zendeskfake.Email, zendeskfake.Token, testSecret, 0
	cfg.Fields = Fields{Language: 11, VIPTier: 12}
	bl := &conformance.MemBlobs{}
	hd, err := New("zendesk-contract", *cfg, Deps{Blobs: bl, Client: &http.Client{Transport: contract, Timeout: 10 * time.Second}})
	require.NoError(t, err)
	zd.SetWebhook(newHookServer(t, hd), testSecret, false)
	agent := zd.AddAgent("Alice Agent")
	sink := &conformance.RecordingSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- hd.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })

	conv := conversation(normalize.KindTelegram, "555")
	file, err := bl.Put(t.Context(), bytes.NewReader([]byte("\x89PNG fake")), "screenshot.png", "image/png")
	require.NoError(t, err)
	first := delivery(conv, "my deposit is missing")
	first.Attachments = []normalize.Attachment{file}
	ref, _, err := hd.Post(t.Context(), conv, []connectors.Delivery{first})
	require.NoError(t, err)
	conv.Ticket = ref
	up := delivery(conv, "VIP tier now 3")
	up.Kind, up.Update = normalize.KindSystem, &normalize.Update{Changed: []normalize.Field{normalize.FieldVIPTier}, VIPTier: 3, Priority: normalize.PriorityHigh}
	retry := delivery(conv, "any news?")
	retry.Attempt = 2 // looked up by marker first
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{up, retry})
	require.NoError(t, err)

	id := ticketID(t, ref)
	_, err = zd.AgentComment(id, agent, "We found it", true, zendeskfake.File{Name: "receipt.pdf", Type: "application/pdf", Content: []byte("%PDF")})
	require.NoError(t, err)
	require.NoError(t, zd.SetStatus(id, agent, "closed"))
	require.NoError(t, zd.Notify(id))
	require.Len(t, sink.Messages(), 2, "the reply and the status change")

	conv.Status = normalize.StatusClosed
	_, _, err = hd.Post(t.Context(), conv, []connectors.Delivery{delivery(conv, "one more question")})
	require.NoError(t, err)
	require.NoError(t, hd.pollOnce(t.Context(), sink))

	contract.mu.Lock()
	defer contract.mu.Unlock()
	require.Empty(t, contract.problems, "exchanges that depart from Zendesk's description")
	for _, op := range []string{"POST /api/v2/tickets", "GET /api/v2/tickets", "GET /api/v2/tickets/{ticket_id}", "PUT /api/v2/tickets/{ticket_id}",
		"GET /api/v2/tickets/{ticket_id}/comments", "GET /api/v2/tickets/{ticket_id}/audits", "POST /api/v2/users/create_or_update",
		"GET /api/v2/users/{user_id}", "POST /api/v2/uploads", "GET /api/v2/incremental/tickets/cursor"} {
		require.Positive(t, contract.checked[op], "%s was never exercised", op)
	}
}
