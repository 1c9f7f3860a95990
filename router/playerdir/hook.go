package playerdir

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

// EventLookup is the X-Gateway-Event of a look-up request.
const EventLookup = "player.lookup"

// maxAnswer bounds what the gateway reads of a directory's answer.
const maxAnswer = 64 << 10

// Hook asks the operator's HTTP endpoint: a POST of the Query as JSON, signed with the
// secret exactly as the webhook helpdesk signs its requests (X-Gateway-Timestamp and
// X-Gateway-Signature: v1=HMAC-SHA256 over "<unix seconds>.<body>"). 200 answers with a
// Player, 404 says the player is unknown; anything else is a failure.
type Hook struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// NewHook returns a hook source posting to url; client nil is http.DefaultClient.
func NewHook(url string, secret []byte, client *http.Client) *Hook {
	if client == nil {
		client = http.DefaultClient
	}
	return &Hook{url: url, secret: secret, client: client, now: time.Now}
}

// Lookup implements Source.
func (h *Hook) Lookup(ctx context.Context, q Query) (Player, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return Player{}, fmt.Errorf("playerdir: encode query: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return Player{}, fmt.Errorf("playerdir: %w", err)
	}
	now := h.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, EventLookup)
	req.Header.Set(webhook.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(h.secret, now, body))
	resp, err := h.client.Do(req)
	if err != nil {
		return Player{}, fmt.Errorf("playerdir: ask %s: %w", h.url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Player{}, ErrNotFound
	default:
		return Player{}, fmt.Errorf("playerdir: %s answered %s", h.url, resp.Status)
	}
	var p Player
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&p); err != nil {
		return Player{}, fmt.Errorf("playerdir: decode the answer of %s: %w", h.url, err)
	}
	if p.PlayerID == "" {
		return Player{}, fmt.Errorf("playerdir: %s answered a player without player_id", h.url)
	}
	return p, nil
}
