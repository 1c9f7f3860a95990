package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// threadLimit is how many of a conversation's latest messages the thread shows.
const threadLimit = 200

// threadView is the page of one conversation.
type threadView struct {
	common
	ID          string
	URL         string
	Player      string
	ChannelKind string
	Channel     string
	Language    string
	VIPTier     int
	Closed      bool
	SLA         string
	SLAClass    string
	Messages    []msgView

	// PlayerID is the casino's player ID, when the gateway identified the player, and
	// LinkedBy what proved it; PlayerURL lists all their conversations in this inbox and
	// Others are their other conversations, on any channel and helpdesk.
	PlayerID  string
	LinkedBy  string
	PlayerURL string
	Others    []otherView
	// The reply form: its idempotency token, the text to keep after an error, the error.
	Token     string
	Text      string
	Error     string
	CanAttach bool
	MaxUpload int64
	MaxText   string
}

// msgView is one message in the thread.
type msgView struct {
	Class       string // player, agent or note
	Author      string
	Label       string // what a message without words is: "image", "reaction"...
	Callback    bool   // a player's call-back request: a badge says so
	Text        string
	At          time.Time
	Attachments []attachmentView
	Tick        *tickView
}

type attachmentView struct {
	URL   string
	Name  string
	Size  string
	Image bool
}

// tickView is the delivery state of an agent reply.
type tickView struct {
	Symbol string
	Class  string
	Title  string
	Reason string
}

// ticks are the marks of each delivery state, as chat apps show them.
var ticks = map[normalize.DeliveryState]tickView{
	normalize.StateQueued:    {Symbol: "⏳", Class: "tick-queued", Title: "queued"},
	normalize.StateSent:      {Symbol: "✓", Class: "tick-sent", Title: "sent"},
	normalize.StateDelivered: {Symbol: "✓✓", Class: "tick-delivered", Title: "delivered"},
	normalize.StateRead:      {Symbol: "✓✓", Class: "tick-read", Title: "read"},
	normalize.StateFailed:    {Symbol: "⚠", Class: "tick-failed", Title: "failed"},
}

// errNotHere answers conversations that do not exist or belong to another helpdesk: agents of
// this inbox see only what was routed to it.
var errNotHere = fmt.Errorf("no such conversation in this inbox: %w", connectors.ErrNotFound)

// ownConversation returns conversation id when it is routed to this inbox.
func (i *Inbox) ownConversation(ctx context.Context, id string) (normalize.Conversation, error) {
	conv, err := i.deps.Conversations.Conversation(ctx, normalize.ConversationID(id))
	if errors.Is(err, connectors.ErrNotFound) || (err == nil && conv.Helpdesk != i.name) {
		return normalize.Conversation{}, errNotHere
	}
	return conv, err
}

// conversationError answers a failed ownConversation.
func (i *Inbox) conversationError(w http.ResponseWriter, s session, err error) {
	if errors.Is(err, connectors.ErrNotFound) {
		i.renderError(w, s, http.StatusNotFound, "This conversation is not in the inbox.")
		return
	}
	i.log.Error("read conversation", "err", err)
	i.renderError(w, s, http.StatusInternalServerError, "The gateway store cannot be read right now.")
}

// handleThread shows one conversation; with ?partial=1 only the part the live refresh swaps.
func (i *Inbox) handleThread(w http.ResponseWriter, r *http.Request, s session) {
	conv, err := i.ownConversation(r.Context(), r.PathValue("id"))
	if err != nil {
		i.conversationError(w, s, err)
		return
	}
	i.showThread(w, r, s, conv, http.StatusOK, replyForm{Token: randomToken()})
}

// replyForm is what the reply box shows again after an error.
type replyForm struct {
	Token string
	Text  string
	Error string
}

func (i *Inbox) showThread(w http.ResponseWriter, r *http.Request, s session, conv normalize.Conversation, status int, form replyForm) {
	ctx := r.Context()
	msgs, err := i.deps.Conversations.Thread(ctx, conv.ID, threadLimit)
	if err != nil {
		i.log.Error("read thread", "conv", conv.ID, "err", err)
		i.renderError(w, s, http.StatusInternalServerError, "The gateway store cannot be read right now.")
		return
	}
	t, found, err := getTicket(ctx, i.db, conv.ID)
	if err != nil {
		i.log.Error("read ticket", "conv", conv.ID, "err", err)
		i.renderError(w, s, http.StatusInternalServerError, "The inbox cannot read its database right now.")
		return
	}
	if !found {
		t = ticket{Conv: conv.ID, Channel: string(conv.Channel), ChannelKind: string(conv.ChannelKind),
			PlayerName: conv.Player.DisplayName, Language: conv.Language, VIPTier: conv.Player.VIPTier, Status: conv.Status}
	}
	if t.PlayerID == "" {
		// A row posted before the inbox kept player IDs gets it with its next message.
		t.PlayerID, t.LinkedBy = conv.Player.PlayerID, conv.Player.PlayerIDBy
	}
	others, err := i.otherConversations(ctx, t.PlayerID, conv.ID)
	if err != nil {
		i.log.Error("read player's conversations", "conv", conv.ID, "err", err)
		i.renderError(w, s, http.StatusInternalServerError, "The player's other conversations cannot be read right now.")
		return
	}
	state := computeSLA(i.now(), t.FirstUnansweredAt, i.firstResponse(t))
	v := threadView{
		common: i.commonFor(s, firstNonEmpty(t.PlayerName, "Player")),
		ID:     string(conv.ID), URL: i.threadURL(conv.ID),
		Player: firstNonEmpty(t.PlayerName, "Player"), ChannelKind: t.ChannelKind, Channel: t.Channel,
		PlayerID: t.PlayerID, LinkedBy: t.LinkedBy, Others: others,
		Language: t.Language, VIPTier: t.VIPTier, Closed: t.Status == normalize.StatusClosed,
		SLA: string(state), SLAClass: state.class(),
		Token: form.Token, Text: form.Text, Error: form.Error,
		CanAttach: i.deps.Blobs != nil, MaxUpload: i.deps.MaxUploadBytes, MaxText: humanBytes(i.deps.MaxUploadBytes),
	}
	if t.PlayerID != "" {
		v.PlayerURL = i.playerListURL(t.PlayerID)
	}
	for _, m := range msgs {
		v.Messages = append(v.Messages, i.messageView(conv.ID, m))
	}
	i.render(w, "thread", r.URL.Query().Get("partial") != "", status, v)
}

func (i *Inbox) threadURL(conv normalize.ConversationID) string {
	return i.cfg.Path + "/conversations/" + url.PathEscape(string(conv))
}

func (i *Inbox) messageView(conv normalize.ConversationID, m normalize.Message) msgView {
	v := msgView{Class: "player", Author: m.Author.DisplayName, Text: m.Text, At: m.ReceivedAt, Callback: m.Callback != nil}
	if v.At.IsZero() {
		v.At = m.SentAt
	}
	switch {
	case m.Kind == normalize.KindSystem:
		// Events (a status change, a metadata update, a missed SLA) sit between the two sides.
		v.Class = "system"
	case m.Direction == normalize.Outbound && m.Kind == normalize.KindNote:
		v.Class, v.Label = "note", "internal note"
	case m.Direction == normalize.Outbound:
		v.Class = "agent"
		if t, ok := ticks[m.State]; ok {
			t.Reason = m.FailReason
			v.Tick = &t
		}
	}
	if v.Author == "" && m.Author.Role == normalize.RoleAgent {
		// Agents without a display name sign replies with nothing the player sees; their
		// colleagues still see who wrote (the sign-in name).
		v.Author = m.Author.ExternalID
	}
	if v.Author == "" {
		v.Author = string(m.Author.Role)
	}
	if m.Kind != normalize.KindText && m.Kind != normalize.KindNote && m.Kind != "" {
		v.Label = string(m.Kind)
	}
	if m.Location != nil && v.Text == "" {
		v.Text = fmt.Sprintf("Location: %.5f, %.5f", m.Location.Latitude, m.Location.Longitude)
	}
	for n, a := range m.Attachments {
		v.Attachments = append(v.Attachments, attachmentView{
			URL:  i.cfg.Path + "/attachments/" + url.PathEscape(string(conv)) + "/" + url.PathEscape(string(m.ID)) + "/" + strconv.Itoa(n),
			Name: firstNonEmpty(a.Name, "attachment"), Size: humanBytes(a.Size), Image: media.IsInlineImage(a.MediaType),
		})
	}
	return v
}

// tokenPattern is what a reply form's idempotency token looks like (randomToken's output);
// anything else is replaced, so the external ID stays short and plain.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
