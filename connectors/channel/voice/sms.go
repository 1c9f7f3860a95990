package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/phone"
	"github.com/casino-support/gateway/normalize"
)

// Agents' replies reach callers as SMS: Twilio's Messages API
// (twilio.com/docs/messaging/api/message-resource) or Vonage's SMS API
// (developer.vonage.com/messaging/sms). A number that cannot take SMS (a landline, by the
// configured prefixes or by the provider's refusal) gets no SMS: the reply fails for good and
// the conversation gets a note that the caller must be called back. Nothing is dropped
// without a word.

// maxSMS is Twilio's limit of a message body (it splits it into segments itself).
const maxSMS = 1600

// errNoSMS marks a reply the caller's number cannot receive as SMS.
var errNoSMS = errors.New("the caller's number cannot receive SMS")

// Send sends msg to the caller as SMS and returns the provider's message ID.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	to := string(conv.Address)
	if _, err := phone.E164(to, ""); err != nil {
		c.noteNoSMS(ctx, conv, msg, "the caller's number is unknown")
		return "", connectors.Permanent(fmt.Errorf("voice %s: %w: address %q is no phone number", c.name, errNoSMS, to))
	}
	if !c.smsCapable(to) {
		c.noteNoSMS(ctx, conv, msg, "the number is not in sms.mobile_prefixes")
		return "", connectors.Permanent(fmt.Errorf("voice %s: %w: %s is not in sms.mobile_prefixes", c.name, errNoSMS, to))
	}
	body := msg.Text
	if len(msg.Attachments) > 0 {
		body = joinLines(body, fmt.Sprintf("(%d attachment(s) not sent by SMS)", len(msg.Attachments)))
	}
	if r := []rune(body); len(r) > maxSMS {
		body = string(r[:maxSMS-1]) + "…"
	}
	var (
		id  string
		err error
	)
	if c.cfg.Provider == "vonage" {
		id, err = c.sendVonageSMS(ctx, to, body, string(msg.ID))
	} else {
		id, err = c.sendTwilioSMS(ctx, to, body)
	}
	if errors.Is(err, errNoSMS) {
		c.noteNoSMS(ctx, conv, msg, "the provider refused it as undeliverable (a landline?)")
	}
	if err != nil {
		return "", fmt.Errorf("voice %s: SMS to %s: %w", c.name, to, err)
	}
	return normalize.ExternalID(id), nil
}

// smsCapable applies sms.mode.
func (c *Channel) smsCapable(to string) bool {
	if c.cfg.SMS.Mode != "prefixes" {
		return true
	}
	for _, p := range c.cfg.SMS.MobilePrefixes {
		if phone.HasPrefix(to, p) {
			return true
		}
	}
	return false
}

// noteNoSMS tells the agents that a reply could not go out as SMS and the caller needs a
// call-back. The note's ExternalID names the reply, so retries store it once; failing to
// store it is logged, and the reply's permanent failure shows on it anyway.
func (c *Channel) noteNoSMS(ctx context.Context, conv normalize.Conversation, msg normalize.Message, why string) {
	text := fmt.Sprintf("A reply could not be sent as SMS to %s (%s): please call the player back.", conv.Address, why)
	note := c.systemMessage("", string(conv.Address), conv.Language, "nosms:"+string(msg.ID), text)
	note.Address = conv.Address
	if err := c.sink.Deliver(ctx, note); err != nil {
		c.log.Error("voice: reply not sendable as SMS; the note for the agents was not stored", "conv", conv.ID, "msg_id", msg.ID, "err", err)
		return
	}
	c.log.Info("voice: reply not sendable as SMS; agents asked to call back", "conv", conv.ID, "msg_id", msg.ID, "why", why)
}

// twilioError is the Twilio REST API's error body.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioNotMobile are the error codes of an SMS to a number that cannot take one: 21614 not a
// mobile number, 21635 a landline.
var twilioNotMobile = map[int]bool{21614: true, 21635: true}

// sendTwilioSMS creates a Message. Twilio takes no idempotency key: a retry after a lost
// answer may send a second SMS, as the router's at-least-once delivery allows.
func (c *Channel) sendTwilioSMS(ctx context.Context, to, body string) (string, error) {
	form := url.Values{"To": {to}, "Body": {body}}
	if strings.HasPrefix(c.cfg.SMS.From, "MG") {
		form.Set("MessagingServiceSid", c.cfg.SMS.From)
	} else {
		form.Set("From", c.cfg.SMS.From)
	}
	endpoint := strings.TrimRight(c.cfg.Twilio.APIURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(c.cfg.Twilio.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", connectors.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.cfg.Twilio.AccountSID, c.cfg.Twilio.AuthToken.Value())
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var te twilioError
		_ = json.Unmarshal(raw, &te)
		if resp.StatusCode == http.StatusBadRequest && twilioNotMobile[te.Code] {
			return "", connectors.Permanent(fmt.Errorf("%w: Twilio error %d: %s", errNoSMS, te.Code, te.Message))
		}
		var wait = connectors.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		if resp.Header.Get("Retry-After") == "" {
			wait = 0
		}
		return "", connectors.ClassifyStatus(resp.StatusCode, wait,
			fmt.Errorf("Twilio answered HTTP %d, error %d: %s", resp.StatusCode, te.Code, te.Message))
	}
	var ok struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.SID == "" {
		return "", fmt.Errorf("Twilio's answer names no message sid: %s", truncate(raw))
	}
	return ok.SID, nil
}

// vonageSMSAnswer is the SMS API's answer: one entry per part sent.
type vonageSMSAnswer struct {
	MessageCount string `json:"message-count"`
	Messages     []struct {
		To        string `json:"to"`
		MessageID string `json:"message-id"`
		Status    string `json:"status"`
		ErrorText string `json:"error-text"`
	} `json:"messages"`
}

// sendVonageSMS sends through the SMS API, which answers 200 with a status per part: 0 sent;
// 1 throttled; 4 bad credentials; 5 internal error; 6 an unroutable number (a landline);
// other statuses refuse the request for good.
func (c *Channel) sendVonageSMS(ctx context.Context, to, body, ref string) (string, error) {
	form := url.Values{"api_key": {c.cfg.Vonage.APIKey}, "api_secret": {c.cfg.Vonage.APISecret.Value()},
		"from": {strings.TrimPrefix(c.cfg.SMS.From, "+")}, "to": {strings.TrimPrefix(to, "+")}, "text": {body},
		"client-ref": {ref}, "type": {"unicode"}}
	endpoint := strings.TrimRight(c.cfg.Vonage.SMSURL, "/") + "/sms/json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", connectors.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", connectors.HTTPStatusError(resp, c.now())
	}
	var ans vonageSMSAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ans); err != nil || len(ans.Messages) == 0 {
		return "", fmt.Errorf("Vonage's answer is not an SMS API answer: %v", err)
	}
	ids := make([]string, 0, len(ans.Messages))
	for _, m := range ans.Messages {
		status, _ := strconv.Atoi(m.Status)
		err := fmt.Errorf("Vonage SMS status %d: %s", status, m.ErrorText)
		switch status {
		case 0:
			ids = append(ids, m.MessageID)
			continue
		case 1:
			return "", connectors.RetryAfter(connectors.DefaultRetryAfter, err)
		case 4:
			return "", connectors.Unauthorized(err)
		case 5:
			return "", err
		case 6:
			return "", connectors.Permanent(fmt.Errorf("%w: %w", errNoSMS, err))
		default:
			return "", connectors.Permanent(err)
		}
	}
	return strings.Join(ids, ","), nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
