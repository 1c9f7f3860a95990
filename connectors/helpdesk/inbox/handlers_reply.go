package inbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// handleReply sends an agent's reply or stores an internal note. It answers 303 back to the
// thread only after Sink.Deliver returned, so an agent who sees the thread again knows the
// reply is stored. The form's token is part of the external ID: a form submitted twice is one
// message, because the store deduplicates on (source, external ID).
func (i *Inbox) handleReply(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	conv, err := i.ownConversation(ctx, r.PathValue("id"))
	if err != nil {
		i.conversationError(w, s, err)
		return
	}
	form := replyForm{Token: r.PostFormValue("token"), Text: strings.TrimRight(r.PostFormValue("text"), " \t\r\n")}
	if !tokenPattern.MatchString(form.Token) {
		form.Token = randomToken()
	}
	note := r.PostFormValue("action") == "note"
	fail := func(status int, msg string) {
		form.Error = msg
		i.showThread(w, r, s, conv, status, form)
	}

	var atts []normalize.Attachment
	att, err := i.storeUpload(ctx, r)
	switch {
	case errors.Is(err, connectors.ErrQuota):
		// The file is fine; the gateway has no room for it until retention or an operator frees some.
		fail(http.StatusInsufficientStorage, "The attachment was not sent: the gateway's attachment storage is full. "+
			"Send the reply without it, or ask an administrator to free room or raise attachments.quota_bytes.")
		return
	case errors.Is(err, connectors.ErrTooLarge):
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("The attachment is too large: at most %s. Attach a smaller file.", humanBytes(i.deps.MaxUploadBytes)))
		return
	case errors.As(err, new(*media.ImageError)):
		fail(http.StatusUnprocessableEntity, "The image cannot be attached: "+err.Error()+". Attach a smaller image.")
		return
	case err != nil:
		i.log.Error("store attachment", "conv", conv.ID, "err", err)
		fail(http.StatusInternalServerError, "The attachment could not be stored. Please attach it again.")
		return
	case att != nil:
		atts = append(atts, *att)
	}
	if strings.TrimSpace(form.Text) == "" && len(atts) == 0 {
		fail(http.StatusBadRequest, "Write a message or attach a file first.")
		return
	}

	msg := normalize.Message{
		Direction:    normalize.Outbound,
		Source:       i.name,
		ExternalID:   normalize.ExternalID("reply-" + form.Token),
		Conversation: conv.ID,
		Author:       agentAuthor(s),
		Kind:         replyKind(note, atts),
		Text:         form.Text,
		Attachments:  atts,
		SentAt:       i.now().UTC(),
	}
	sink, err := i.currentSink()
	if err == nil {
		err = sink.Deliver(ctx, msg)
	}
	switch {
	case connectors.IsPermanent(err):
		i.log.Warn("reply refused", "conv", conv.ID, "agent", s.Agent, "err", err)
		fail(http.StatusUnprocessableEntity, "The gateway refused this message: "+err.Error())
		return
	case err != nil:
		i.log.Error("deliver reply", "conv", conv.ID, "agent", s.Agent, "err", err)
		fail(http.StatusServiceUnavailable, "The message could not be stored. Nothing was sent; please try again"+reattach(atts)+".")
		return
	}
	if err := i.markReplied(ctx, conv.ID, i.now(), note); err != nil {
		// The reply is stored and will be sent; only the SLA columns are behind.
		i.log.Error("record reply", "conv", conv.ID, "err", err)
	}
	i.changed(ctx, conv.ID)
	http.Redirect(w, r, i.threadURL(conv.ID), http.StatusSeeOther)
}

// agentAuthor is the signed-in agent as a message records them. DisplayName is what players
// see above a reply, so it holds only a display name the agent was given, never the sign-in
// name ("admin" tells a player nothing and tells an attacker an account); a chat shows its
// own title instead. The sign-in name stays in ExternalID for the agents' thread. An account
// without a display name stores its sign-in name as one (accounts.go), so that counts as none.
func agentAuthor(s session) normalize.Author {
	a := normalize.Author{Role: normalize.RoleAgent, ExternalID: s.Agent}
	if s.DisplayName != s.Agent {
		a.DisplayName = s.DisplayName
	}
	return a
}

func reattach(atts []normalize.Attachment) string {
	if len(atts) > 0 {
		return " (attach the file again)"
	}
	return ""
}

// replyKind is a note, or what the attachment makes it (media.Kind: an image the page shows
// inline, a document, or text).
func replyKind(note bool, atts []normalize.Attachment) normalize.MessageKind {
	if note {
		return normalize.KindNote
	}
	return media.Kind(atts)
}

// storeUpload puts the form's attachment into the blob store. The media type is sniffed from
// the content, never taken from the browser, which reports whatever the file name suggests.
// It returns nil without a file, and an error wrapping ErrTooLarge over the limit.
func (i *Inbox) storeUpload(ctx context.Context, r *http.Request) (*normalize.Attachment, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File["attachment"]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File["attachment"][0]
	if fh.Filename == "" && fh.Size == 0 {
		return nil, nil
	}
	if i.deps.Blobs == nil {
		return nil, errors.New("attachments are not available: no blob store")
	}
	if fh.Size > i.deps.MaxUploadBytes {
		return nil, fmt.Errorf("upload of %d bytes: %w", fh.Size, connectors.ErrTooLarge)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	att, err := i.putSniffed(ctx, f, uploadName(fh))
	if err != nil {
		return nil, err
	}
	return &att, nil
}

func (i *Inbox) putSniffed(ctx context.Context, f multipart.File, name string) (normalize.Attachment, error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return normalize.Attachment{}, fmt.Errorf("read upload: %w", err)
	}
	head = head[:n]
	mediaType := media.Sniff(head)
	// An image declaring gigapixels would take down the browsers that show it inline; the
	// agent is here to be told (a *media.ImageError) and attaches a smaller one.
	content, err := media.CheckImage(io.MultiReader(bytes.NewReader(head), f), mediaType)
	if err != nil {
		return normalize.Attachment{}, err
	}
	return i.deps.Blobs.Put(ctx, io.LimitReader(content, i.deps.MaxUploadBytes+1), name, mediaType)
}

// uploadName keeps the base name the browser sent, without any path, and never empty.
func uploadName(fh *multipart.FileHeader) string {
	name := filepath.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
	if name == "." || name == "/" || name == "" {
		return "attachment"
	}
	return name
}

// handleStatus closes or reopens a conversation the way every helpdesk's status change
// reaches the gateway: as a system message with Status, handed to the sink, which applies it
// to the conversation in the same transaction that stores it (closing stops the SLA clock)
// and keeps it in the thread in order. The form's token makes a form submitted twice one
// change. Then the inbox's list follows.
func (i *Inbox) handleStatus(status normalize.Status) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, s session) {
		i.deliverChange(w, r, s, change{prefix: "status", failed: "The status could not be changed; please try again.",
			fill: func(m *normalize.Message, agent string) { m.Status, m.Text = status, statusText(status, agent) },
			done: func(ctx context.Context, conv normalize.ConversationID) {
				if err := i.setTicketStatus(ctx, conv, status, i.now()); err != nil {
					i.log.Error("set ticket status", "conv", conv, "status", status, "err", err)
				}
				i.log.Info("conversation status changed", "conv", conv, "status", status, "agent", s.Agent)
			}})
	}
}

// statusText says in the thread who changed the status.
func statusText(status normalize.Status, agent string) string {
	if status == normalize.StatusClosed {
		return "Closed by " + agent + "."
	}
	return "Reopened by " + agent + "."
}
