package cloud

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// fetcher downloads a media ID's content.
type fetcher func(ctx context.Context, mediaID string) (io.ReadCloser, error)

// inbound turns a webhook message into wamsg's Inbound, naming the sender from the change's
// contacts. Media is not fetched here, only given a Fetch that fetch does.
func inbound(m Message, contacts []Contact, fetch fetcher) wamsg.Inbound {
	in := wamsg.Inbound{ID: m.ID, From: m.From, Time: unixTime(m.Timestamp)}
	for _, c := range contacts {
		if c.WaID == m.From {
			in.Name = c.Profile.Name
		}
	}
	if m.Context != nil && !m.Context.Forwarded {
		in.QuotedID = m.Context.ID
	}
	media := func(kind normalize.MessageKind, md *Media) {
		in.Kind, in.Text = kind, md.Caption
		id := md.ID
		in.Media = &wamsg.Media{MIMEType: md.MIMEType, FileName: md.Filename,
			Fetch: func(ctx context.Context) (io.ReadCloser, error) { return fetch(ctx, id) }}
	}
	switch {
	case m.Type == "text" && m.Text != nil:
		in.Kind, in.Text = normalize.KindText, m.Text.Body
	case m.Type == "image" && m.Image != nil:
		media(normalize.KindImage, m.Image)
	case m.Type == "video" && m.Video != nil:
		media(normalize.KindVideo, m.Video)
	case m.Type == "sticker" && m.Sticker != nil:
		media(normalize.KindSticker, m.Sticker)
	case m.Type == "document" && m.Document != nil:
		media(normalize.KindDocument, m.Document)
	case m.Type == "audio" && m.Audio != nil:
		kind := normalize.KindAudio
		if m.Audio.Voice {
			kind = normalize.KindVoiceMsg
		}
		media(kind, m.Audio)
	case m.Type == "location" && m.Location != nil:
		l := m.Location
		in.Kind = normalize.KindLocation
		in.Location = &wamsg.Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
	case m.Type == "contacts":
		in.Kind = normalize.KindContact
		for _, c := range m.Contacts {
			ct := wamsg.Contact{Name: c.Name.FormattedName}
			if ct.Name == "" {
				ct.Name = strings.TrimSpace(c.Name.FirstName + " " + c.Name.LastName)
			}
			for _, p := range c.Phones {
				ct.Phones = append(ct.Phones, p.Phone)
			}
			in.Contacts = append(in.Contacts, ct)
		}
	case m.Type == "reaction" && m.Reaction != nil:
		in.Kind, in.TargetID, in.Emoji = normalize.KindReaction, m.Reaction.MessageID, m.Reaction.Emoji
	case m.Type == "interactive" && m.Interactive != nil:
		in.Kind, in.Text = normalize.KindText, interactiveText(m.Interactive)
	case m.Type == "button" && m.Button != nil:
		// A tap on a template's quick-reply button.
		in.Kind, in.Text = normalize.KindText, m.Button.Text
	default:
		in.Text = unsupported(m)
	}
	return in
}

// interactiveText is what the player chose, as the button or list row read to them.
func interactiveText(i *Interactive) string {
	switch {
	case i.ButtonReply != nil:
		return i.ButtonReply.Title
	case i.ListReply != nil:
		return strings.TrimSpace(i.ListReply.Title + "\n" + i.ListReply.Description)
	case i.NFMReply != nil && i.NFMReply.Body != "":
		return i.NFMReply.Body
	}
	return "[an interactive answer the gateway cannot show]"
}

// unsupported names a message the gateway cannot show, for wamsg's notice: Meta reports types
// the Cloud API does not pass on (a poll, an edit of an earlier message, a view-once photo) as
// type "unsupported", with the kind in unsupported.type and an error (131051) saying so.
func unsupported(m Message) string {
	what := m.Type
	switch {
	case m.Type == "unsupported" && m.Unsupported != nil && m.Unsupported.Type == "edit":
		return "message edit (the Cloud API does not pass on the edited text)"
	case m.Type == "unsupported" && m.Unsupported != nil && m.Unsupported.Type != "":
		what = strings.ReplaceAll(m.Unsupported.Type, "_", " ")
	case m.Type == "system" && m.System != nil:
		return "system message (" + m.System.Body + ")"
	case what == "" || what == "unsupported" || what == "unknown":
		what = "message"
	}
	if len(m.Errors) > 0 {
		what += " (" + m.Errors[0].String() + ")"
	}
	return what
}

// unixTime reads a webhook timestamp, Unix seconds as a string; zero when unreadable.
func unixTime(s string) time.Time {
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}
