package whatsapp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// downloader fetches a message's media; the channel's client in production.
type downloader func(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)

// toInbound reads a whatsmeow message event as the shared Inbound, apart from the sender's
// number (the caller resolves LIDs). skip names why an event carries nothing for an agent
// (a protocol message such as a key share); such events are acknowledged and dropped.
func toInbound(evt *events.Message, download downloader) (in wamsg.Inbound, skip string) {
	in = wamsg.Inbound{ID: evt.Info.ID, Name: evt.Info.PushName, Time: evt.Info.Timestamp}
	m := evt.Message
	if m == nil {
		return in, "no message content"
	}
	if pm := m.GetProtocolMessage(); pm != nil {
		target := pm.GetKey().GetID()
		switch pm.GetType() {
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			// An edit names its target and when it was made: the ID of the edit is the same
			// whether it arrives live or again, and apart from its target's, which the store
			// would take it for a duplicate of.
			in.Kind, in.TargetID = normalize.KindEdit, target
			in.Text, _ = content(pm.GetEditedMessage())
			in.ID = target + ":edit:" + strconv.FormatInt(pm.GetTimestampMS(), 10)
			if pm.GetTimestampMS() == 0 {
				in.ID = target + ":edit:" + evt.Info.ID
			}
			return in, ""
		case waE2E.ProtocolMessage_REVOKE:
			in.Kind, in.TargetID = normalize.KindDeletion, target
			in.ID = target + ":deleted"
			return in, ""
		default:
			return in, "protocol message " + pm.GetType().String()
		}
	}
	if r := m.GetReactionMessage(); r != nil {
		in.Kind, in.TargetID, in.Emoji = normalize.KindReaction, r.GetKey().GetID(), r.GetText()
		return in, ""
	}
	in.Text, in.QuotedID = content(m)
	media := func(kind normalize.MessageKind, dm whatsmeow.DownloadableMessage, mime, name string, size uint64) {
		in.Kind = kind
		in.Media = &wamsg.Media{MIMEType: mime, FileName: name, Size: int64(size), Fetch: fetcher(download, dm)}
	}
	switch {
	case m.GetConversation() != "" || m.GetExtendedTextMessage() != nil:
		in.Kind = normalize.KindText
	case m.GetImageMessage() != nil:
		im := m.GetImageMessage()
		media(normalize.KindImage, im, im.GetMimetype(), "", im.GetFileLength())
	case m.GetDocumentMessage() != nil:
		d := m.GetDocumentMessage()
		name := d.GetFileName()
		if name == "" {
			name = d.GetTitle()
		}
		media(normalize.KindDocument, d, d.GetMimetype(), name, d.GetFileLength())
	case m.GetAudioMessage() != nil:
		a := m.GetAudioMessage()
		kind := normalize.KindAudio
		if a.GetPTT() {
			kind = normalize.KindVoiceMsg // a voice note, ogg/opus
		}
		media(kind, a, a.GetMimetype(), "", a.GetFileLength())
	case m.GetVideoMessage() != nil:
		v := m.GetVideoMessage()
		media(normalize.KindVideo, v, v.GetMimetype(), "", v.GetFileLength())
	case m.GetPtvMessage() != nil: // a round video note
		v := m.GetPtvMessage()
		media(normalize.KindVideo, v, v.GetMimetype(), "", v.GetFileLength())
	case m.GetStickerMessage() != nil:
		s := m.GetStickerMessage()
		media(normalize.KindSticker, s, s.GetMimetype(), "", s.GetFileLength())
	case m.GetLocationMessage() != nil:
		l := m.GetLocationMessage()
		in.Kind = normalize.KindLocation
		in.Location = &wamsg.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(),
			Name: l.GetName(), Address: l.GetAddress(), URL: l.GetURL()}
	case m.GetLiveLocationMessage() != nil:
		l := m.GetLiveLocationMessage()
		in.Kind = normalize.KindLocation
		in.Location = &wamsg.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(), Name: l.GetCaption()}
	case m.GetContactMessage() != nil:
		in.Kind = normalize.KindContact
		in.Contacts = []wamsg.Contact{contact(m.GetContactMessage())}
	case m.GetContactsArrayMessage() != nil:
		in.Kind = normalize.KindContact
		for _, c := range m.GetContactsArrayMessage().GetContacts() {
			in.Contacts = append(in.Contacts, contact(c))
		}
	default:
		what := kindName(m)
		if what == "" {
			return in, "empty message"
		}
		// Not dropped: the converter tells the agent that the player sent something the
		// gateway cannot show (a poll, a payment, a view-once message already gone).
		in.Kind, in.Text = "", what
	}
	return in, ""
}

// content returns the text of a message (its body or a media caption) and the ID of the
// message it replies to.
func content(m *waE2E.Message) (text, quoted string) {
	if m == nil {
		return "", ""
	}
	var ci *waE2E.ContextInfo
	switch {
	case m.GetConversation() != "":
		text = m.GetConversation()
	case m.GetExtendedTextMessage() != nil:
		text, ci = m.GetExtendedTextMessage().GetText(), m.GetExtendedTextMessage().GetContextInfo()
	case m.GetImageMessage() != nil:
		text, ci = m.GetImageMessage().GetCaption(), m.GetImageMessage().GetContextInfo()
	case m.GetDocumentMessage() != nil:
		text, ci = m.GetDocumentMessage().GetCaption(), m.GetDocumentMessage().GetContextInfo()
	case m.GetVideoMessage() != nil:
		text, ci = m.GetVideoMessage().GetCaption(), m.GetVideoMessage().GetContextInfo()
	case m.GetAudioMessage() != nil:
		ci = m.GetAudioMessage().GetContextInfo()
	case m.GetStickerMessage() != nil:
		ci = m.GetStickerMessage().GetContextInfo()
	case m.GetLocationMessage() != nil:
		ci = m.GetLocationMessage().GetContextInfo()
	case m.GetContactMessage() != nil:
		ci = m.GetContactMessage().GetContextInfo()
	}
	return text, ci.GetStanzaID()
}

// fetcher downloads dm with the client when the converter asks. WhatsApp's media servers
// answer 403, 404 or 410 for media that expired, and content whose hash does not match will
// not match on a retry either: those fail for good, the rest (network) are tried again.
func fetcher(download downloader, dm whatsmeow.DownloadableMessage) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		data, err := download(ctx, dm)
		if err != nil {
			if mediaGone(err) {
				return nil, connectors.Permanent(err)
			}
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
}

func mediaGone(err error) bool {
	for _, e := range []error{whatsmeow.ErrMediaDownloadFailedWith403, whatsmeow.ErrMediaDownloadFailedWith404,
		whatsmeow.ErrMediaDownloadFailedWith410, whatsmeow.ErrNoURLPresent, whatsmeow.ErrFileLengthMismatch,
		whatsmeow.ErrInvalidMediaHMAC, whatsmeow.ErrInvalidMediaEncSHA256, whatsmeow.ErrInvalidMediaSHA256,
		whatsmeow.ErrUnknownMediaType, whatsmeow.ErrTooShortFile} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// contact reads one shared contact card: its display name and the numbers of its vCard.
func contact(c *waE2E.ContactMessage) wamsg.Contact {
	return wamsg.Contact{Name: c.GetDisplayName(), Phones: vcardPhones(c.GetVcard()), VCard: c.GetVcard()}
}

// vcardPhones returns the TEL values of a vCard (RFC 6350: "TEL;TYPE=cell;waid=49170...:+49
// 170 ...", also grouped as "item1.TEL"), unfolding continued lines. The card comes from the
// player's phone, unchecked: anything that is not a TEL line is ignored.
func vcardPhones(card string) []string {
	var phones []string
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(card))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(lines) > 0 {
			lines[len(lines)-1] += line[1:]
			continue
		}
		lines = append(lines, line)
	}
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		prop, _, _ := strings.Cut(name, ";")
		if i := strings.LastIndexByte(prop, '.'); i >= 0 {
			prop = prop[i+1:]
		}
		if !strings.EqualFold(prop, "TEL") {
			continue
		}
		value = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(value), "tel:"))
		if value != "" && len(phones) < 20 {
			phones = append(phones, value)
		}
	}
	return phones
}

// kindName names the content a message carries that the channel has no conversion for
// ("poll creation"), from the first field set other than the metadata every message may have.
func kindName(m *waE2E.Message) string {
	var name string
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		switch fd.Name() {
		case "messageContextInfo", "senderKeyDistributionMessage":
			return true
		}
		name = string(fd.Name())
		return false
	})
	return humanize(name)
}

// humanize turns a protobuf field name ("pollCreationMessageV3") into words ("poll creation").
func humanize(field string) string {
	var words []string
	var cur []rune
	for _, r := range field {
		if unicode.IsUpper(r) || unicode.IsDigit(r) {
			if len(cur) > 0 {
				words = append(words, string(cur))
			}
			cur = cur[:0]
		}
		cur = append(cur, unicode.ToLower(r))
	}
	if len(cur) > 0 {
		words = append(words, string(cur))
	}
	for len(words) > 1 {
		last := words[len(words)-1]
		if last != "message" && last != "v" && strings.TrimLeft(last, "0123456789") != "" {
			break
		}
		words = words[:len(words)-1]
	}
	return strings.Join(words, " ")
}

// errUnknownSender is why a message whose sender's number the session does not know is left
// unacknowledged: WhatsApp delivers it again, by when the LID mapping may be known.
var errUnknownSender = errors.New("the sender's phone number is unknown (a LID without a mapping)")

func describe(evt *events.Message) string {
	return fmt.Sprintf("%s from %s", evt.Info.ID, evt.Info.SourceString())
}
