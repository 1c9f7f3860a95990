package email

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// settle stores the items' messages in one Deliver, records their bounces, counts their
// noise and tells the players of mails not taken in whole, and returns how many items, from
// the first, are settled: their mails may be marked.
func (c *Channel) settle(ctx context.Context, sink connectors.Sink, items []item) (int, error) {
	var msgs []normalize.Message
	var at []int // the item of each message
	for i, it := range items {
		if it.msg != nil {
			msgs = append(msgs, *it.msg)
			at = append(at, i)
		}
	}
	refused := map[int]bool{} // items whose message the store refused for good
	delivered, derr := connectors.DeliverBatch(ctx, sink, msgs, func(i int, err error) error {
		if !connectors.IsPermanent(err) {
			return err
		}
		refused[at[i]] = true
		c.log.Error("email: mail refused for good, dropped", "conv", msgs[i].Address, "external_id", msgs[i].ExternalID, "err", err)
		return nil
	})
	limit := len(items)
	if derr != nil {
		limit = at[delivered]
	}
	for i := range limit {
		it := items[i]
		switch {
		case it.bounce != nil:
			if err := c.recordBounce(ctx, sink, it); err != nil {
				return i, fmt.Errorf("%w: %w", errSink, err)
			}
		case it.msg == nil:
			c.countDropped(it.reason)
			c.log.Info("email: mail dropped, no ticket and no answer", "external_id", it.messageID, "why", it.why)
		case !refused[i]:
			c.stored(ctx, it)
		}
	}
	if derr != nil {
		return limit, fmt.Errorf("%w: deliver %d mails: %w", errSink, len(msgs), derr)
	}
	return limit, nil
}

// recordBounce marks the reply a delivery report names failed, through the sink's
// FailureSink. A delay (4.x.x), a report on a mail the gateway did not send, or a reply the
// store does not know is logged and dropped.
func (c *Channel) recordBounce(ctx context.Context, sink connectors.Sink, it item) error {
	b := it.bounce
	c.countDropped(dropBounce)
	log := c.log.With("external_id", it.messageID, "reported", b.OriginalMessageID, "status", b.Status)
	if !b.Permanent {
		log.Info("email: delivery delayed, the server keeps trying")
		return nil
	}
	id, ok := replyOf(b.OriginalMessageID, c.domain)
	if !ok {
		log.Warn("email: a bounce of a mail the gateway did not send, dropped")
		return nil
	}
	failures, ok := sink.(connectors.FailureSink)
	if !ok {
		log.Warn("email: a reply bounced, and the sink cannot record it", "msg_id", id)
		return nil
	}
	reason := strings.TrimSpace(strings.Join([]string{b.Status, b.Diagnostic}, " "))
	if len(b.Recipients) > 0 {
		reason += " (" + strings.Join(b.Recipients, ", ") + ")"
	}
	err := failures.DeliveryFailed(ctx, c.name, id, "bounced: "+reason)
	switch {
	case errors.Is(err, connectors.ErrNotFound):
		log.Warn("email: a bounce of a reply the store does not know, dropped", "msg_id", id)
		return nil
	case err != nil:
		return fmt.Errorf("record the bounce of %s: %w", id, err)
	}
	log.Warn("email: a reply bounced; marked failed", "msg_id", id, "reason", reason)
	return nil
}

// stored counts what of a stored mail was left out for size, and tells the player once.
func (c *Channel) stored(ctx context.Context, it item) {
	n := it.notice
	if n == nil {
		return
	}
	if n.size > 0 {
		c.metrics.oversized.WithLabelValues(oversizedCut).Inc()
	}
	c.metrics.oversized.WithLabelValues(oversizedFile).Add(float64(len(n.files)))
	c.tellPlayer(ctx, n)
}
