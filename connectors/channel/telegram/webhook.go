package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// maxWebhookBody bounds one update; real ones are a few KiB.
const maxWebhookBody = 1 << 20

// runWebhook registers the webhook with Telegram, then serves updates through ServeHTTP (which
// delivers to the sink Run stored) until ctx ends. The webhook stays set on return, so
// Telegram keeps updates for the next start.
func (c *Channel) runWebhook(ctx context.Context) error {
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
		switch code, _ := apiError(nil, err); {
		case code == http.StatusUnauthorized:
			return fmt.Errorf("telegram %s: setWebhook: the bot token was rejected (401)", c.name)
		case code >= 400 && code < 500 && code != http.StatusTooManyRequests:
			// Telegram refuses the URL itself (not HTTPS, a port other than 443/80/88/8443).
			return fmt.Errorf("telegram %s: setWebhook %s refused (%d): %w", c.name, params["url"], code, c.redact(err))
		}
		c.log.Warn("telegram: setWebhook failed, retrying", "err", c.redact(err), "wait", wait)
		if !sleep(ctx, wait) {
			return nil
		}
		wait = nextBackoff(wait)
	}
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
	box := c.sink.Load()
	if box == nil {
		http.Error(w, "not running yet", http.StatusServiceUnavailable)
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
	if _, err := c.handleBatch(r.Context(), box.sink, []tgbotapi.Update{u}); err != nil {
		c.log.Warn("telegram: webhook update not stored, Telegram will retry", "update_id", u.UpdateID, "err", err)
		http.Error(w, "not stored, retry", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}
