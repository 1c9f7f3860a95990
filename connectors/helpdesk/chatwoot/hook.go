package chatwoot

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/hmacsig"
	"github.com/casino-support/gateway/normalize"
)

// The headers of Chatwoot's signed webhooks, and the one carrying the shared secret of
// releases that sign nothing when a proxy adds it (the webhook URL's ?token= otherwise).
const (
	HeaderSignature = "X-Chatwoot-Signature"
	HeaderTimestamp = "X-Chatwoot-Timestamp"
	HeaderDelivery  = "X-Chatwoot-Delivery"
	HeaderToken     = "X-Gateway-Token"
)

// maxHookBody caps a webhook: Chatwoot sends files as links, so an event is a few KiB.
const maxHookBody = 1 << 20

// errUnsigned is the refusal of a webhook that neither a signature nor the token vouches for.
var errUnsigned = errors.New("no X-Chatwoot-Signature and no valid token: configure the inbox's webhook secret, or put ?token= in the webhook URL")

// authenticate checks a webhook: its signature when Chatwoot sent one (hmacsig.Chatwoot:
// "sha256=" and the hex HMAC-SHA256 over "{timestamp}.{body}", the timestamp within
// max_skew), else the shared token of the query or the header, for releases that sign
// nothing. A signature that is there but wrong is refused even with a valid token: it is
// someone's attempt, not an old release.
func (h *Helpdesk) authenticate(r *http.Request, body []byte) error {
	if secret := h.cfg.WebhookSecret.Value(); secret != "" && r.Header.Get(HeaderSignature) != "" {
		scheme := hmacsig.Chatwoot
		scheme.MaxSkew = h.cfg.MaxSkew
		return scheme.Verify([]byte(secret), r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, h.now())
	}
	if token := h.cfg.HookToken.Value(); token != "" {
		got := r.URL.Query().Get("token")
		if got == "" {
			got = r.Header.Get(HeaderToken)
		}
		// Digests, so that neither the token's bytes nor its length leak through timing.
		a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
			return nil
		}
	}
	return errUnsigned
}

// event is a Chatwoot webhook: message_created carries the message at the top level with its
// conversation inside; conversation_* events carry the conversation at the top level.
type event struct {
	Event string `json:"event"`
	message
	Inbox *struct {
		ID int `json:"id"`
	} `json:"inbox"`
	// Of conversation_* events.
	Status            string `json:"status"`
	InboxID           int    `json:"inbox_id"`
	ChangedAttributes []map[string]struct {
		Previous any `json:"previous_value"`
		Current  any `json:"current_value"`
	} `json:"changed_attributes"`
	Meta *struct {
		Assignee *sender `json:"assignee"`
	} `json:"meta"`
}

// eventConversation is the conversation a message event belongs to.
type eventConversation struct {
	ID               int            `json:"id"`
	InboxID          int            `json:"inbox_id"`
	CustomAttributes map[string]any `json:"custom_attributes"`
}

// foreign reports whether c is a conversation of the inbox the gateway did not open (an agent
// started it, or another integration): its attributes are there but carry no gateway
// conversation, so no player of the gateway's is in it. Without attributes it may be ours.
func (c *eventConversation) foreign() bool {
	if c == nil || c.CustomAttributes == nil {
		return false
	}
	_, ours := c.CustomAttributes[attrConversation].(string)
	return !ours
}

// ServeHTTP is /hooks/{name}: Chatwoot's webhooks of the inbox. It answers 401 for a missing
// or wrong signature or token, 400 for what is no Chatwoot event, 200 for events it ignores
// (other inboxes, the contact's messages, private notes, its own messages) and for what the
// sink stored, and 503 while nothing can store (Chatwoot retries).
func (h *Helpdesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "only POST is accepted"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		h.refuse(w, http.StatusRequestEntityTooLarge, hookMalformed, fmt.Errorf("read body: %w", err))
		return
	}
	if err := h.authenticate(r, body); err != nil {
		h.log.Warn("chatwoot: webhook refused", "helpdesk", h.name, "client", connectors.ClientAddr(r).String(), "err", err)
		h.refuse(w, http.StatusUnauthorized, hookUnauthorized, err)
		return
	}
	var ev event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil || ev.Event == "" {
		if err == nil {
			err = errors.New("no event")
		}
		h.refuse(w, http.StatusBadRequest, hookMalformed, fmt.Errorf("not a Chatwoot webhook: %w", err))
		return
	}
	msg, outcome, ok := h.convert(r.Context(), ev, r.Header.Get(HeaderDelivery), body)
	if !ok {
		h.metrics.hooks.WithLabelValues(outcome).Inc()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored", "reason": outcome})
		return
	}
	log := h.log.With("helpdesk", h.name, "ticket", msg.Ticket, "external_id", msg.ExternalID)
	if status, reason := connectors.HookAnswer(w, h.sink.Deliver(r.Context(), msg), log); status != http.StatusOK {
		h.metrics.hooks.WithLabelValues(hookNotStored).Inc()
		writeJSON(w, status, map[string]string{"error": reason})
		return
	}
	h.metrics.hooks.WithLabelValues(outcome).Inc()
	writeJSON(w, http.StatusOK, map[string]string{"status": "stored"})
}

func (h *Helpdesk) refuse(w http.ResponseWriter, status int, outcome string, err error) {
	h.metrics.hooks.WithLabelValues(outcome).Inc()
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// convert turns a webhook into the message to store, or says why it is ignored.
func (h *Helpdesk) convert(ctx context.Context, ev event, delivery string, body []byte) (normalize.Message, string, bool) {
	switch ev.Event {
	case "message_created":
		return h.reply(ctx, ev)
	case "conversation_status_changed":
		return h.statusChange(ev, delivery, body)
	case "conversation_updated":
		return h.assignment(ev, delivery, body)
	}
	return normalize.Message{}, hookIgnoredOther, false
}

// reply converts message_created: only an outgoing, public message that the gateway did not
// create itself is an agent's reply to the player.
func (h *Helpdesk) reply(ctx context.Context, ev event) (normalize.Message, string, bool) {
	conv := ev.ConversationID
	inbox := 0
	if ev.Conversation != nil {
		conv = ev.Conversation.ID
		inbox = ev.Conversation.InboxID
	}
	if inbox == 0 && ev.Inbox != nil {
		inbox = ev.Inbox.ID
	}
	switch {
	case inbox != 0 && inbox != h.cfg.InboxID, conv <= 0 || ev.ID <= 0:
		return normalize.Message{}, hookIgnoredOther, false // another inbox's, through an account webhook
	case ev.Conversation.foreign():
		return normalize.Message{}, hookIgnoredOther, false // answered 200: no retries for a conversation that is none of ours
	case strings.HasPrefix(ev.SourceID, sourcePrefix):
		return normalize.Message{}, hookIgnoredEcho, false
	case ev.Private:
		return normalize.Message{}, hookIgnoredPrivate, false
	case ev.MessageType != "outgoing":
		return normalize.Message{}, hookIgnoredIncoming, false
	}
	text := strings.TrimSpace(ev.Content)
	files, missing := h.replyFiles(ctx, ev)
	if len(missing) > 0 {
		text = strings.TrimSpace(text + "\n\n(Attachment not delivered: " + strings.Join(missing, ", ") + ")")
	}
	if text == "" && len(files) == 0 {
		return normalize.Message{}, hookIgnoredOther, false // nothing a player could be sent
	}
	author := normalize.Author{Role: normalize.RoleAgent}
	if s := ev.Sender; s != nil {
		author.DisplayName = s.Name
		author.ExternalID = strconv.Itoa(s.ID)
		if s.Type == "agent_bot" {
			author.Role = normalize.RoleBot
		}
	}
	kind := normalize.KindText
	if text == "" && len(files) > 0 {
		kind = normalize.KindDocument
	}
	sent := time.Time(ev.CreatedAt)
	if sent.IsZero() {
		sent = h.now().UTC()
	}
	return normalize.Message{
		Direction:   normalize.Outbound,
		Source:      h.name,
		ExternalID:  normalize.ExternalID(strconv.Itoa(ev.ID)),
		Ticket:      normalize.Ref(strconv.Itoa(conv)),
		Author:      author,
		Kind:        kind,
		Text:        text,
		Attachments: files,
		SentAt:      sent,
	}, hookReply, true
}

// statuses maps Chatwoot's conversation statuses to the gateway's.
var statuses = map[string]normalize.Status{
	"open":     normalize.StatusOpen,
	"pending":  normalize.StatusPending,
	"snoozed":  normalize.StatusPending,
	"resolved": normalize.StatusClosed,
}

// statusChange converts conversation_status_changed into a status message, which the store
// applies to the conversation; the player is sent nothing. Its dedup key is eventKey's.
func (h *Helpdesk) statusChange(ev event, delivery string, body []byte) (normalize.Message, string, bool) {
	st, ok := statuses[ev.Status]
	if !ok || ev.ID <= 0 || (ev.InboxID != 0 && ev.InboxID != h.cfg.InboxID) {
		return normalize.Message{}, hookIgnoredOther, false
	}
	key := eventKey(delivery, body)
	return normalize.Message{
		Direction:  normalize.Outbound,
		Source:     h.name,
		ExternalID: normalize.ExternalID(fmt.Sprintf("status-%d-%s", ev.ID, key)),
		Ticket:     normalize.Ref(strconv.Itoa(ev.ID)),
		Author:     normalize.Author{Role: normalize.RoleAgent},
		Kind:       normalize.KindSystem,
		Status:     st,
		Text:       "Conversation " + ev.Status + " in Chatwoot.",
		SentAt:     h.now().UTC(),
	}, hookStatus, true
}

// assignment converts conversation_updated when it changed the assignee: a system message
// with the agent (none unassigns), which the store applies; the player is sent nothing.
// Other updates (labels, attributes, the gateway's own) are passed over.
func (h *Helpdesk) assignment(ev event, delivery string, body []byte) (normalize.Message, string, bool) {
	changed := false
	for _, c := range ev.ChangedAttributes {
		if _, ok := c["assignee_id"]; ok {
			changed = true
		}
	}
	if !changed || ev.ID <= 0 || (ev.InboxID != 0 && ev.InboxID != h.cfg.InboxID) {
		return normalize.Message{}, hookIgnoredOther, false
	}
	agent := normalize.Agent{}
	text := "Unassigned in Chatwoot."
	if ev.Meta != nil && ev.Meta.Assignee != nil && ev.Meta.Assignee.ID > 0 {
		agent = normalize.Agent{ID: strconv.Itoa(ev.Meta.Assignee.ID), Name: ev.Meta.Assignee.Name}
		text = "Assigned to " + cmp.Or(agent.Name, agent.ID) + " in Chatwoot."
	}
	return normalize.Message{
		Direction:  normalize.Outbound,
		Source:     h.name,
		ExternalID: normalize.ExternalID(fmt.Sprintf("assign-%d-%s", ev.ID, eventKey(delivery, body))),
		Ticket:     normalize.Ref(strconv.Itoa(ev.ID)),
		Author:     normalize.Author{Role: normalize.RoleAgent},
		Kind:       normalize.KindSystem,
		Assignee:   &agent,
		Text:       text,
		SentAt:     h.now().UTC(),
	}, hookAssignment, true
}

// eventKey is what tells one delivery of an event from another: the delivery's ID, which
// Chatwoot keeps across retries, or, from releases without one, the body's digest (a retry
// sends the same body, a later change a new updated_at).
func eventKey(delivery string, body []byte) string {
	if delivery != "" {
		return delivery
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:12])
}

// replyFiles downloads the files of an agent's reply into the blob store, and names those it
// could not have (too large, gone, no blob store) for the reply's text rather than holding
// the reply back: releases that sign nothing do not retry a webhook, and a retry would
// meet the same file.
func (h *Helpdesk) replyFiles(ctx context.Context, ev event) (files []normalize.Attachment, missing []string) {
	for _, a := range ev.Attachments {
		name := fileNameOf(a)
		if a.DataURL == "" || h.blobs == nil {
			missing = append(missing, name)
			continue
		}
		att, err := h.download(ctx, a, name)
		if err != nil {
			h.log.WarnContext(ctx, "chatwoot: an agent's file was not stored", "helpdesk", h.name, "message", ev.ID, "attachment", a.ID, "err", err)
			missing = append(missing, name)
			continue
		}
		files = append(files, att)
	}
	return files, missing
}

// fileNameOf is an attachment's name: Chatwoot's webhook carries none, but data_url ends
// with it.
func fileNameOf(a attachment) string {
	if a.FileName != "" {
		return a.FileName
	}
	if u, err := url.Parse(a.DataURL); err == nil && path.Base(u.Path) != "." && path.Base(u.Path) != "/" {
		return path.Base(u.Path)
	}
	return "attachment " + strconv.Itoa(a.ID)
}

func (h *Helpdesk) download(ctx context.Context, a attachment, name string) (normalize.Attachment, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.DataURL, nil)
	if err != nil {
		return normalize.Attachment{}, connectors.RedactURLError(err)
	}
	resp, err := h.files.Do(req)
	if err != nil {
		return normalize.Attachment{}, connectors.RedactURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return normalize.Attachment{}, connectors.HTTPStatusError(resp, h.now())
	}
	typ := resp.Header.Get("Content-Type")
	if typ == "" {
		typ = "application/octet-stream"
	}
	return h.blobs.Put(ctx, io.LimitReader(resp.Body, h.maxAttach+1), name, typ)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
