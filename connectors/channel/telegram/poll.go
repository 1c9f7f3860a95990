package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// pollLimit is the most updates one getUpdates returns; a batch is delivered in one call.
const pollLimit = 100

// confirmTimeout bounds the getUpdates that confirms the last batch when polling stops.
const confirmTimeout = 3 * time.Second

// poll long-polls getUpdates until ctx ends. The offset only moves past a batch once the sink
// stored it: Telegram keeps unconfirmed updates and sends them again, and the store drops
// what it already has, so a crash or a failed Deliver loses nothing. The offset lives in
// memory only; after a restart the first call (offset 0) gets every unconfirmed update, so a
// clean stop confirms the last stored batch (see confirm).
func (c *Channel) poll(ctx context.Context, sink connectors.Sink) error {
	// The long poll outlives an ordinary request timeout; it is bounded by its own deadline.
	pollClient := *c.client
	pollClient.Timeout = 0
	offset, confirmed, wait := 0, 0, c.backoff
	defer func() {
		if offset > confirmed {
			c.confirm(ctx, c.client, offset)
		}
	}()
	for ctx.Err() == nil {
		updates, err := c.getUpdates(ctx, &pollClient, offset)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			code, retryAfter := apiError(nil, err)
			switch {
			case code == http.StatusConflict:
				c.log.Error("telegram: getUpdates conflict (409): a webhook is set or another process polls this bot; only one may receive updates",
					"err", c.redact(err))
				connectors.ReportHealth(sink, c.name, errors.New("getUpdates conflict (409): a webhook is set or another process polls this bot"))
			case code == http.StatusTooManyRequests && retryAfter > 0:
				c.log.Warn("telegram: getUpdates flood control", "retry_after", retryAfter)
				connectors.Sleep(ctx, time.Duration(retryAfter)*time.Second)
				continue
			default:
				c.unhealthy(sink, "getUpdates", err, wait)
			}
			connectors.Sleep(ctx, wait)
			wait = nextBackoff(wait)
			continue
		}
		c.healthy(sink)
		confirmed = offset // Telegram confirms what is below the offset of a call it answered
		if len(updates) == 0 {
			wait = c.backoff
			if c.cfg.PollTimeout < time.Second {
				// A timeout under a second is sent as 0, a short poll that Telegram answers at
				// once: asking again at once would spin.
				connectors.Sleep(ctx, c.backoff)
			}
			continue
		}
		next, err := c.handleBatch(ctx, sink, updates)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Warn("telegram: batch not stored, will fetch it again", "updates", len(updates), "err", err, "wait", wait)
			connectors.Sleep(ctx, wait)
			wait = nextBackoff(wait)
			continue
		}
		offset, wait = next, c.backoff
	}
	return nil
}

// confirm tells Telegram that the updates below offset were handled, which only a getUpdates
// with that offset does. Without it the last batch stored before a clean stop comes again
// after the restart: the store drops its messages, but the notices sent with them (a /start
// greeting, a file that could not be received) would reach the player a second time. A crash
// skips this, and the store's dedup covers it as before.
func (c *Channel) confirm(ctx context.Context, client *http.Client, offset int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	// Limit 1, no wait: an update returned here is not confirmed by this call, so it is not lost.
	_, err := c.fetchUpdates(ctx, client, tgbotapi.UpdateConfig{Offset: offset, Limit: 1, Timeout: 0, AllowedUpdates: c.cfg.AllowedUpdates})
	if err != nil {
		c.log.Warn("telegram: could not confirm the last batch on stop; it comes again after the restart, and its notices with it",
			"err", c.redact(err))
	}
}

// getUpdates asks for up to pollLimit updates from offset on, waiting poll_timeout for one.
func (c *Channel) getUpdates(ctx context.Context, client *http.Client, offset int) ([]tgbotapi.Update, error) {
	timeout := int(c.cfg.PollTimeout / time.Second)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.PollTimeout+30*time.Second)
	defer cancel()
	return c.fetchUpdates(ctx, client, tgbotapi.UpdateConfig{
		Offset: offset, Limit: pollLimit, Timeout: timeout, AllowedUpdates: c.cfg.AllowedUpdates,
	})
}

// handleBatch converts and stores updates in one Deliver and returns the offset that
// confirms them. Notices go out only after the batch is stored.
func (c *Channel) handleBatch(ctx context.Context, sink connectors.Sink, updates []tgbotapi.Update) (int, error) {
	b, err := c.prepare(ctx, updates)
	if err != nil {
		return 0, err
	}
	if err := c.deliver(ctx, sink, b.msgs); err != nil {
		return 0, err
	}
	for chatID, id := range b.idents {
		c.identities.set(chatID, id)
	}
	c.sendNotices(ctx, b.notices)
	last := updates[0].UpdateID
	for _, u := range updates[1:] {
		last = max(last, u.UpdateID)
	}
	return last + 1, nil
}

// deliver hands msgs to the sink in one call. When the store refuses the batch for good, the
// messages are tried one by one, so one it can never accept (dropped and logged) does not
// hold back the others forever.
func (c *Channel) deliver(ctx context.Context, sink connectors.Sink, msgs []normalize.Message) error {
	_, err := connectors.DeliverBatch(ctx, sink, msgs, func(i int, err error) error {
		if !connectors.IsPermanent(err) {
			return err
		}
		c.log.Error("telegram: message refused for good, dropped", "conv", msgs[i].Address, "external_id", msgs[i].ExternalID, "err", err)
		return nil
	})
	if err != nil {
		return fmt.Errorf("telegram: deliver %d messages: %w", len(msgs), err)
	}
	return nil
}
