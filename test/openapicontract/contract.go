// Package openapicontract checks a connector's exchanges with a fake remote against the
// remote's published OpenAPI description: every request the connector sends and every
// answer the fake gives, so that the connector speaks the API as documented and the fake
// answers as the real service does. Put its Transport between the connector's client and the
// fake.
package openapicontract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Transport validates the exchanges it carries against a description.
type Transport struct {
	doc  *openapi3.T
	base http.RoundTripper
	// apiPrefix starts the paths that must be in the description; others (file downloads)
	// pass unchecked.
	apiPrefix string

	mu       sync.Mutex
	problems []string
	checked  map[string]int // "METHOD template" → exchanges validated
}

// Load reads and validates the description at path. Requests under apiPrefix must match one
// of its operations; base (nil: http.DefaultTransport) carries them on.
func Load(ctx context.Context, path, apiPrefix string, base http.RoundTripper) (*Transport, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("%s is no valid OpenAPI document: %w", path, err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{doc: doc, base: base, apiPrefix: apiPrefix, checked: map[string]int{}}, nil
}

// Problems returns what departed from the description so far.
func (c *Transport) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.problems)
}

// Checked returns how many exchanges of operation ("POST /path/{template}") were validated.
func (c *Transport) Checked(operation string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked[operation]
}

// findRoute matches a request to the operation of its path template ("{name}" matches one
// segment); the description's server is the vendor's host, the fake's is another. A
// template with literal segments wins over one with parameters there (/tickets/search over
// /tickets/{id}), as OpenAPI prescribes, so the templates are tried with the fewest
// parameters first.
func (c *Transport) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	templates := make([]string, 0, c.doc.Paths.Len())
	for template := range c.doc.Paths.Map() {
		templates = append(templates, template)
	}
	slices.SortFunc(templates, func(a, b string) int {
		if d := strings.Count(a, "{") - strings.Count(b, "{"); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, template := range templates {
		item := c.doc.Paths.Value(template)
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

func (c *Transport) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// RoundTrip validates the request, carries it, and validates the answer.
func (c *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, params, err := c.findRoute(req)
	if err != nil {
		if strings.HasPrefix(req.URL.Path, c.apiPrefix) {
			c.problem("%s %s: %v", req.Method, req.URL.Path, err)
		}
		return c.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
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
		Body: io.NopCloser(bytes.NewReader(answer)), Options: &openapi3filter.Options{MultiError: true}}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		c.problem("answer %d to %s %s: %v\n%s", resp.StatusCode, req.Method, route.Path, err, answer)
	}
	c.mu.Lock()
	c.checked[req.Method+" "+route.Path]++
	c.mu.Unlock()
	return resp, nil
}
