package wamsg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// Inbound is one player message as either API reports it, before conversion.
type Inbound struct {
	// ID is the WhatsApp message ID (whatsmeow's Info.ID, the Cloud API's wamid), the
	// message's ExternalID. An edit, reaction or deletion needs an ID of its own (the target's
	// ID plus what tells the event apart), or it would be taken for a duplicate of its target.
	ID   string
	From string // the sender's wa_id (digits)
	Name string // push name / profile name
	Time time.Time
	// Kind is what the message carries: text, image, document, audio, voice, video, sticker,
	// location, contact, reaction, edit or deletion. Anything else (or "") is reported to the
	// agent as a message the gateway cannot show, with Text naming what it was.
	Kind     normalize.MessageKind
	Text     string // body, caption, or the edited text
	Media    *Media
	Location *Location
	Contacts []Contact
	QuotedID string // the message this one replies to
	TargetID string // the message an edit, reaction or deletion targets
	Emoji    string // a reaction; "" removes one
}

// Media is a file attached to a message, fetched only by the Converter.
type Media struct {
	MIMEType, FileName string
	Size               int64 // 0 when unknown
	// Fetch downloads the content. An error wrapping connectors.ErrPermanent (the file is
	// gone) is not retried.
	Fetch func(ctx context.Context) (io.ReadCloser, error)
}

// Location is a place the player shared.
type Location struct {
	Latitude, Longitude float64
	Name, Address, URL  string
}

// Contact is a contact card the player shared.
type Contact struct {
	Name   string
	Phones []string
	VCard  string
}

// Converter turns an Inbound into the normalized message of instance.
type Converter struct {
	Instance normalize.InstanceName
	Kind     normalize.ChannelKind // normalize.KindWhatsApp when empty
	Blobs    connectors.Blobs
	Log      *slog.Logger
	// Attempts is how often a media download is tried (default 3); Backoff the pause after the
	// first failure, doubled after each further one (default 500ms).
	Attempts int
	Backoff  time.Duration
	// MaxBytes refuses media larger than this before and while downloading it (0: only the
	// blob store's own limit applies).
	MaxBytes int64
}

// Message converts in. Media is fetched into Blobs with retries; a download that still fails,
// or content over the size limit or quota, gives the message a text telling the agent what
// could not be fetched and why (never dropped, never an error). The error is only for what a
// retry can cure (the blob store failing) — the caller then leaves the message
// unacknowledged — or, wrapping connectors.ErrPermanent, for a sender that is no phone number
// (the message can never be taken). Locations and contacts get a readable text too (a map
// link; name and numbers), reactions, edits and deletions set Edits = TargetID, replies set
// ReplyTo = QuotedID; the text goes through normalize.CleanText.
func (c Converter) Message(ctx context.Context, in Inbound) (normalize.Message, error) {
	addr, err := Address(in.From)
	if err != nil {
		return normalize.Message{}, connectors.Permanent(err)
	}
	kind := c.Kind
	if kind == "" {
		kind = normalize.KindWhatsApp
	}
	msg := normalize.Message{
		Direction:   normalize.Inbound,
		Source:      c.Instance,
		Channel:     c.Instance,
		ChannelKind: kind,
		ExternalID:  normalize.ExternalID(in.ID),
		Address:     addr,
		Author: normalize.Author{
			Role:        normalize.RolePlayer,
			DisplayName: normalize.CleanName(in.Name),
			ExternalID:  strings.TrimPrefix(in.From, "+"),
		},
		Kind:    in.Kind,
		Text:    in.Text,
		ReplyTo: normalize.ExternalID(in.QuotedID),
		SentAt:  in.Time.UTC(),
	}
	if in.Time.IsZero() {
		msg.SentAt = time.Time{}
	}
	var notes []string
	switch in.Kind {
	case normalize.KindText:
	case normalize.KindImage, normalize.KindDocument, normalize.KindAudio, normalize.KindVoiceMsg, normalize.KindVideo, normalize.KindSticker:
		if in.Media == nil {
			notes = append(notes, fmt.Sprintf("[%s without its file]", in.Kind))
			break
		}
		att, note, err := c.fetch(ctx, in.Kind, *in.Media)
		if err != nil {
			return normalize.Message{}, fmt.Errorf("wamsg: message %s: %w", in.ID, err)
		}
		if att.BlobRef != "" {
			msg.Attachments = []normalize.Attachment{att}
		}
		if note != "" {
			notes = append(notes, note)
		}
	case normalize.KindLocation:
		if in.Location != nil {
			l := *in.Location
			msg.Location = &normalize.Location{Latitude: l.Latitude, Longitude: l.Longitude}
			msg.Text = locationText(l)
		}
	case normalize.KindContact:
		msg.Text = contactsText(in.Contacts)
	case normalize.KindReaction:
		msg.Edits = normalize.ExternalID(in.TargetID)
		msg.Text = in.Emoji
		if in.Emoji == "" {
			msg.Text = "[reaction removed]"
		}
	case normalize.KindEdit:
		msg.Edits = normalize.ExternalID(in.TargetID)
	case normalize.KindDeletion:
		msg.Edits = normalize.ExternalID(in.TargetID)
		msg.Text = "[the player deleted this message]"
	default:
		// Kept rather than dropped, so an agent sees that the player sent something.
		msg.Kind = normalize.KindSystem
		what := "message"
		if in.Kind != "" {
			what = string(in.Kind) + " message"
		}
		if in.Text != "" {
			what = in.Text
		}
		msg.Text = fmt.Sprintf("[the player sent a %s, which the gateway cannot show]", what)
	}
	if len(notes) > 0 {
		msg.Text = strings.TrimSpace(msg.Text + "\n" + strings.Join(notes, "\n"))
	}
	msg.Text = normalize.CleanText(msg.Text)
	return msg, nil
}

// locationText shows a shared place as its name, address and a map link an agent can open.
func locationText(l Location) string {
	lat := strconv.FormatFloat(l.Latitude, 'f', -1, 64)
	lon := strconv.FormatFloat(l.Longitude, 'f', -1, 64)
	lines := []string{"Location: " + lat + "," + lon}
	if place := strings.TrimSpace(strings.Join(nonEmpty(l.Name, l.Address), ", ")); place != "" {
		lines = append(lines, place)
	}
	lines = append(lines, "https://www.openstreetmap.org/?mlat="+lat+"&mlon="+lon+"#map=17/"+lat+"/"+lon)
	if l.URL != "" {
		lines = append(lines, l.URL)
	}
	return strings.Join(lines, "\n")
}

// contactsText shows shared contact cards as a name and numbers each.
func contactsText(cs []Contact) string {
	if len(cs) == 0 {
		return "[contact card without details]"
	}
	lines := make([]string, 0, len(cs))
	for _, ct := range cs {
		name := strings.TrimSpace(ct.Name)
		if name == "" {
			name = "(no name)"
		}
		line := "Contact: " + name
		if len(ct.Phones) > 0 {
			line += ", " + strings.Join(ct.Phones, ", ")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// defaultNames names files the sender did not name, by kind.
var defaultNames = map[normalize.MessageKind]string{
	normalize.KindImage:    "image",
	normalize.KindDocument: "document",
	normalize.KindAudio:    "audio",
	normalize.KindVoiceMsg: "voice",
	normalize.KindVideo:    "video",
	normalize.KindSticker:  "sticker",
}

// fileName is the attachment's name: the sender's, else one from the kind, made safe and
// given the media type's extension.
func fileName(kind normalize.MessageKind, m Media) string {
	name := m.FileName
	if strings.TrimSpace(name) == "" {
		name = defaultNames[kind]
	}
	return media.FileName(name, bareType(m.MIMEType))
}

// bareType is a MIME type without parameters ("audio/ogg; codecs=opus" → "audio/ogg").
func bareType(t string) string {
	t, _, _ = strings.Cut(t, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	if t == "" {
		return "application/octet-stream"
	}
	return t
}

// fetch downloads m into the blob store. What cannot be fetched or kept is no error: note then
// tells the agent, and att is empty. err is for the blob store failing, which a retry of the
// whole message may cure.
func (c Converter) fetch(ctx context.Context, kind normalize.MessageKind, m Media) (att normalize.Attachment, note string, err error) {
	name := fileName(kind, m)
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.MaxBytes > 0 && m.Size > c.MaxBytes {
		return att, fmt.Sprintf("[file too large to fetch: %s, %s, the limit is %s]", name, humanSize(m.Size), humanSize(c.MaxBytes)), nil
	}
	attempts, pause := c.Attempts, c.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if pause <= 0 {
		pause = 500 * time.Millisecond
	}
	var lastErr error
	for i := range attempts {
		if i > 0 {
			if !connectors.Sleep(ctx, pause) {
				return att, "", ctx.Err()
			}
			pause *= 2
		}
		att, note, lastErr, err = c.store(ctx, kind, name, m)
		if err != nil || lastErr == nil {
			return att, note, err
		}
		log.Warn("whatsapp: media download failed", "channel", c.Instance, "file", name, "attempt", i+1, "err", lastErr)
		if connectors.IsPermanent(lastErr) {
			break
		}
	}
	return normalize.Attachment{}, fmt.Sprintf("[file could not be fetched: %s (%s): %v]", name, media.Name(bareType(m.MIMEType)), reason(lastErr)), nil
}

// reason is a download error for the agent's notice, without the wrapping that says nothing
// to them.
func reason(err error) string {
	return strings.ReplaceAll(err.Error(), connectors.ErrPermanent.Error()+": ", "")
}

// store is one download attempt: downloadErr says why the download failed (worth another
// attempt unless permanent), err that the blob store failed.
func (c Converter) store(ctx context.Context, kind normalize.MessageKind, name string, m Media) (att normalize.Attachment, note string, downloadErr, err error) {
	if m.Fetch == nil {
		return att, "", connectors.Permanent(errors.New("no way to download it")), nil
	}
	rc, err := m.Fetch(ctx)
	if err != nil {
		return att, "", err, nil
	}
	defer rc.Close()
	body := &countingReader{r: rc, max: c.MaxBytes}
	mediaType := bareType(m.MIMEType)
	// An image declaring gigapixels would take down the browser that shows it inline, but
	// refusing it would lose what the player sent: it is kept as a plain file to download.
	content, imgErr := media.CheckImage(body, mediaType)
	if imgErr != nil && body.err == nil {
		mediaType = "application/octet-stream"
		note = fmt.Sprintf("[image not shown inline, attached as a file: %s: %v]", name, imgErr)
	}
	if body.err != nil && !errors.Is(body.err, connectors.ErrTooLarge) {
		return att, "", body.err, nil
	}
	att, err = c.Blobs.Put(ctx, content, name, mediaType)
	switch {
	case errors.Is(body.err, connectors.ErrTooLarge):
		return normalize.Attachment{}, fmt.Sprintf("[file too large to fetch: %s, over the limit of %s]", name, humanSize(c.MaxBytes)), nil, nil
	case errors.Is(err, connectors.ErrTooLarge):
		return normalize.Attachment{}, fmt.Sprintf("[file too large to fetch: %s, %s]", name, humanSize(max(m.Size, body.n))), nil, nil
	case errors.Is(err, connectors.ErrQuota):
		// Retrying would hold up the player's later messages until room is freed: the message
		// goes on, and the agent can ask for the file again.
		return normalize.Attachment{}, fmt.Sprintf("[file not stored, the gateway's attachment storage is full: %s]", name), nil, nil
	case body.err != nil:
		// The download broke off while the blob store read it: that is the download's fault.
		return normalize.Attachment{}, "", body.err, nil
	case err != nil:
		return normalize.Attachment{}, "", nil, fmt.Errorf("store %s: %w", name, err)
	}
	return att, note, nil, nil
}

// countingReader remembers the first read error of the download and fails once more than max
// bytes (when max > 0) came, instead of truncating silently.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case c.max > 0 && c.n > c.max:
		c.err = fmt.Errorf("file over %s: %w", humanSize(c.max), connectors.ErrTooLarge)
		return 0, c.err
	case err != nil && err != io.EOF:
		c.err = fmt.Errorf("download: %w", err)
		return n, c.err
	}
	return n, err
}

// humanSize prints a byte count for people; 0 means the size is unknown.
func humanSize(n int64) string {
	switch {
	case n <= 0:
		return "size unknown"
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
