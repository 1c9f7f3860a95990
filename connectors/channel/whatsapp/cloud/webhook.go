package cloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// maxWebhookBody bounds one notification. Meta batches up to a few hundred messages and
// statuses in one POST, a few hundred KiB at most.
const maxWebhookBody = 3 << 20

// ServeHTTP is the webhook at /hooks/{instance}: Meta's verification GET when the webhook is
// set up, and the signed POSTs of messages and statuses. A POST is answered 200 only once
// every message in it is stored and every status passed on; anything else makes Meta send it
// again (with back-off, for up to seven days).
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		c.verify(w, r)
	case http.MethodPost:
		c.notification(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST only", http.StatusMethodNotAllowed)
	}
}

// verify answers the verification request: hub.mode=subscribe and hub.verify_token equal to
// the configured token are answered with hub.challenge, anything else with 403.
func (c *Channel) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := []byte(q.Get("hub.verify_token"))
	if q.Get("hub.mode") != "subscribe" || subtle.ConstantTimeCompare(token, []byte(c.cfg.VerifyToken.Value())) != 1 {
		c.refuse(w, r, "verify_token", "the verification request's hub.mode or hub.verify_token is wrong")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
	c.log.Info("whatsapp-cloud: webhook verified by Meta")
}

// refuse answers 403, counts the refusal and logs it: a forged request, or a webhook set up
// with another app's secret or verify token.
func (c *Channel) refuse(w http.ResponseWriter, r *http.Request, reason, msg string) {
	c.metrics.refused(c.name, reason)
	c.log.Warn("whatsapp-cloud: webhook request refused", "reason", msg, "client", connectors.ClientAddr(r))
	http.Error(w, "forbidden", http.StatusForbidden)
}

// validSignature checks X-Hub-Signature-256, "sha256=" and the hex HMAC-SHA256 of the raw
// body keyed with the app secret, in constant time.
func validSignature(header string, body []byte, secret string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// notification takes one signed POST.
func (c *Channel) notification(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
			http.Error(w, "notification too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	if !validSignature(r.Header.Get("X-Hub-Signature-256"), body, c.cfg.AppSecret.Value()) {
		c.refuse(w, r, "signature", "X-Hub-Signature-256 is missing or does not match the body and app_secret")
		return
	}
	sink, runCtx, ok := c.sink.Held()
	if !ok {
		status, reason := connectors.HookAnswer(w, connectors.ErrNotRunning, c.log)
		http.Error(w, reason, status)
		return
	}
	n, err := ParseNotification(body)
	if err != nil {
		// Signed by Meta, so not worth a retry: it would be refused again.
		c.log.Warn("whatsapp-cloud: notification not understood", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := mergeCancel(r.Context(), runCtx)
	if err := c.handle(ctx, sink, n); err != nil {
		status, reason := connectors.HookAnswer(w, err, c.log)
		http.Error(w, reason, status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// mergeCancel is ctx, ended also when run ends: a request must not outlive the Run whose sink
// it uses.
func mergeCancel(ctx, run context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(run, cancel)
	return ctx
}

// handle stores a notification's messages, then passes its statuses on. Changes for another
// phone number of the business account are left to that number's channel.
func (c *Channel) handle(ctx context.Context, sink connectors.Sink, n Notification) error {
	var msgs []normalize.Message
	var statuses []Status
	for _, e := range n.Entry {
		for _, ch := range e.Changes {
			v := ch.Value
			if ch.Field != "messages" || v.Metadata.PhoneNumberID != c.cfg.PhoneNumberID {
				c.log.Debug("whatsapp-cloud: change for another field or number left alone", "field", ch.Field, "phone_number_id", v.Metadata.PhoneNumberID)
				continue
			}
			for _, e := range v.Errors {
				c.log.Warn("whatsapp-cloud: Meta reports an error", "err", e.String())
			}
			for _, m := range v.Messages {
				msg, err := c.conv.Message(ctx, inbound(m, v.Contacts, c.graph.download))
				if connectors.IsPermanent(err) {
					c.log.Warn("whatsapp-cloud: message not taken", "msg_id", m.ID, "err", err)
					continue
				}
				if err != nil {
					return fmt.Errorf("whatsapp-cloud: message %s: %w", m.ID, err)
				}
				msgs = append(msgs, msg)
			}
			statuses = append(statuses, v.Statuses...)
		}
	}
	if len(msgs) > 0 {
		_, err := connectors.DeliverBatch(ctx, sink, msgs, func(i int, err error) error {
			if connectors.IsPermanent(err) {
				c.log.Warn("whatsapp-cloud: message refused by the store", "msg_id", msgs[i].ExternalID, "err", err)
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Author.Role != normalize.RolePlayer || m.SentAt.IsZero() {
				continue
			}
			if err := c.windows.seen(ctx, m.Address, m.SentAt); err != nil {
				c.log.Warn("whatsapp-cloud: could not store when the player last wrote", "conv_address", m.Address, "err", err)
			}
		}
	}
	for _, s := range statuses {
		if err := c.status(ctx, sink, s); err != nil {
			return err
		}
	}
	return nil
}
