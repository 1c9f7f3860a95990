package webhookreceiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

// SignedRequest builds what the operator's system sends to /hooks/{instance}: body signed
// with secret at ts.
func SignedRequest(ctx context.Context, url, secret string, ts time.Time, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build signed request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts, body))
	return req, nil
}
