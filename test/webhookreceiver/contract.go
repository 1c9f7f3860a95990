package webhookreceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// OperatorPath is the path item of the operator's endpoint in the document; the real path is
// whatever the configured url says, so requests are matched to it regardless of their path.
const OperatorPath = "/your-endpoint"

// Contract is the parsed and validated OpenAPI document.
type Contract struct {
	doc *openapi3.T
}

// DocPath returns docs/webhook-openapi.yaml of this repository, found from this file so tests
// of any package can load it.
func DocPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "webhook-openapi.yaml")
}

// LoadContract parses and validates the document at path.
func LoadContract(ctx context.Context, path string) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	return &Contract{doc: doc}, nil
}

// Doc returns the parsed document.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// route finds the operation of template and method.
func (c *Contract) route(template, method string) (*routers.Route, error) {
	item := c.doc.Paths.Value(template)
	if item == nil {
		return nil, fmt.Errorf("no path %s in the contract", template)
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil, fmt.Errorf("no %s %s in the contract", method, template)
	}
	return &routers.Route{Spec: c.doc, Path: template, PathItem: item, Method: method, Operation: op}, nil
}

// options checks the bearer scheme only for presence: whether the token is right is the
// implementation's business, and tests send wrong ones on purpose.
func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError: true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if in.SecurityScheme.Type == "http" && !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
				return errors.New("missing bearer token")
			}
			return nil
		},
	}
}

// Exchange is one request and its answer, to validate against the contract.
type Exchange struct {
	Template   string // path template in the document, such as /hooks/{instance}
	PathParams map[string]string
	Request    *http.Request
	Body       []byte
	Status     int
	Header     http.Header
	Response   []byte
}

// ValidateRequest checks the request of x against its operation.
func (c *Contract) ValidateRequest(ctx context.Context, x Exchange) error {
	in, err := c.input(x)
	if err != nil {
		return err
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("request %s %s: %w", x.Request.Method, x.Template, err)
	}
	return nil
}

// ValidateResponse checks the answer of x against its operation.
func (c *Contract) ValidateResponse(ctx context.Context, x Exchange) error {
	in, err := c.input(x)
	if err != nil {
		return err
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header, Options: in.Options}
	out.SetBodyBytes(x.Response)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("response %d to %s %s: %w", x.Status, x.Request.Method, x.Template, err)
	}
	return nil
}

func (c *Contract) input(x Exchange) (*openapi3filter.RequestValidationInput, error) {
	route, err := c.route(x.Template, x.Request.Method)
	if err != nil {
		return nil, err
	}
	req := x.Request.Clone(x.Request.Context())
	req.Body = io.NopCloser(bytes.NewReader(x.Body))
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: x.PathParams, Route: route, Options: options()}, nil
}

// GatewayTemplate matches a request path to one of the gateway's paths in the document and
// returns its template and parameters.
func (c *Contract) GatewayTemplate(path string) (string, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, template := range c.doc.Paths.InMatchingOrder() {
		if template == OperatorPath {
			continue
		}
		tsegs := strings.Split(strings.Trim(template, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, t := range tsegs {
			if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
				params[t[1:len(t)-1]] = segs[i]
			} else if t != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return template, params, true
		}
	}
	return "", nil, false
}
