package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors"
)

// maxWebhookBody bounds one update; real ones are a few KiB.
const maxWebhookBody = 1 << 20

// runWebhook registers the webhook with Telegram, then serves updates through ServeHTTP (which
// delivers to the sink Run stored) until ctx ends. The webhook stays set on return, so
// Telegram keeps updates for the next start.
func (c *Channel) runWebhook(ctx context.Context, sink connectors.Sink) error {
	allowed, err := json.Marshal(c.cfg.AllowedUpdates)
	if err != nil {
		return fmt.Errorf("telegram %s: allowed_updates: %w", c.name, err)
	}
	params := tgbotapi.Params{
		"url":             c.publicURL + "/hooks/" + string(c.name),
		"secret_token":    c.cfg.WebhookSecret.Value(),
		"allowed_updates": string(allowed),
	}
	wait := c.backoff
	for {
		_, err := c.api(ctx, c.client).MakeRequest("setWebhook", params)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if code, _ := apiError(nil, err); code >= 400 && code < 500 && code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			// Telegram refuses the URL itself (not HTTPS, a port other than 443/80/88/8443):
			// the configuration must change, and the gateway reports it and restarts Run.
			return fmt.Errorf("telegram %s: setWebhook %s refused (%d): %w", c.name, params["url"], code, c.redact(err))
		}
		c.unhealthy(sink, "setWebhook", err, wait)
		if !connectors.Sleep(ctx, wait) {
			return nil
		}
		wait = nextBackoff(wait)
	}
	c.healthy(sink)
	c.log.Info("telegram: webhook set", "url", params["url"])
	<-ctx.Done()
	return nil
}

// ServeHTTP receives one update from Telegram. It answers 200 only after the sink stored the
// message; any other answer makes Telegram send the update again.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Mode != "webhook" {
		http.Error(w, "this bot receives updates by polling", http.StatusNotFound)
		return
	}
	got := []byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
	if subtle.ConstantTimeCompare(got, []byte(c.cfg.WebhookSecret.Value())) != 1 {
		http.Error(w, "missing or wrong secret token", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	sink := c.sink.Sink()
	if sink == nil {
		status, reason := connectors.HookAnswer(w, connectors.ErrNotRunning, c.log)
		http.Error(w, reason, status)
		return
	}
	var u tgbotapi.Update
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWebhookBody)).Decode(&u); err != nil {
		if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "malformed update", http.StatusBadRequest)
		return
	}
	if _, err := c.handleBatch(r.Context(), sink, []tgbotapi.Update{u}); err != nil {
		// Telegram sends the update again after any non-2xx answer.
		status, reason := connectors.HookAnswer(w, err, c.log.With("update_id", u.UpdateID))
		http.Error(w, reason, status)
		return
	}
	w.WriteHeader(http.StatusOK)
}
