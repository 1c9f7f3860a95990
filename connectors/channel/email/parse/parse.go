// Package parse turns one raw e-mail (RFC 5322, MIME) into what the email channel needs: who
// wrote, which thread it belongs to, the player's new words apart from the quoted history,
// the HTML as received, the attachments (stored as they are read), and whether it is an
// automatic mail (auto-reply, list, bounce) that must neither open a ticket nor be answered.
// It knows no IMAP, SMTP or store, so it can be tested on a corpus of real-world mails and
// fuzzed.
package parse

import (
	"context"
	"io"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Address is a mailbox: a display name and an address, both decoded.
type Address struct {
	Name  string
	Email string // lower-cased domain, local part as written
}

// Auto says why a mail was written by a machine rather than a person.
type Auto string

const (
	// AutoNone is a mail a person wrote.
	AutoNone Auto = ""
	// AutoReply is an out-of-office or vacation notice, or any Auto-Submitted mail.
	AutoReply Auto = "auto-reply"
	// AutoBulk is list or bulk mail (Precedence bulk/junk/list, List-Id, List-Unsubscribe).
	AutoBulk Auto = "bulk"
	// AutoBounce is a delivery status notification (multipart/report; report-type=delivery-status).
	AutoBounce Auto = "bounce"
)

// Bounce is what a delivery status notification says about a mail the gateway sent.
type Bounce struct {
	// OriginalMessageID is the Message-ID of the mail that could not be delivered, from the
	// returned headers, without angle brackets.
	OriginalMessageID string
	// Recipients are the final recipients the report is about.
	Recipients []string
	// Permanent is true for a 5.x.x status (failed), false for a delay (4.x.x).
	Permanent bool
	// Status and Diagnostic are the report's words, for the agent.
	Status, Diagnostic string
}

// Message is a parsed mail.
type Message struct {
	// MessageID, InReplyTo and References are Message-IDs without angle brackets.
	MessageID  string
	InReplyTo  []string
	References []string

	From    Address
	ReplyTo []Address
	To, Cc  []Address
	// Subject is decoded from encoded words, trimmed.
	Subject string
	// Date is the Date header; the zero time when missing or unreadable.
	Date time.Time

	// Text is the player's new words: the preferred text/plain body (else the HTML rendered
	// as text), without the quoted history and the signature. FullText is that body whole.
	Text, FullText string
	// HTML is the text/html body, for helpdesks that show it, sanitized: no scripts, styles
	// sheets, event handlers, forms, frames or ids, and nothing loaded from elsewhere (remote
	// images and CSS are dropped; cid: and data: images stay). "" when the mail has none.
	HTML string

	// Attachments are the files and inline images, stored through Options.Store as they are
	// read, byte for byte as sent (transfer encoding undone). A forwarded mail
	// (message/rfc822) is a file named after its subject with ".eml"; winmail.dat is kept as
	// it is. Skipped says, one "name: reason" line each, what was not stored (over a limit,
	// empty, damaged in transit), what was stored other than sent (an image too large to show
	// inline is stored as application/octet-stream), and what of the mail was not read (past
	// the part or nesting limits), so the channel can tell the player and the agent.
	Attachments []normalize.Attachment
	Skipped     []string

	// Auto is why a machine wrote the mail; Bounce is set for AutoBounce.
	Auto   Auto
	Bounce *Bounce
}

// Options are what Parse needs besides the mail.
type Options struct {
	// MaxBytes bounds the whole mail; a longer one is an error wrapping
	// connectors.ErrTooLarge and nothing is stored. 0 means DefaultMaxBytes. The mail is held
	// in memory while it is parsed.
	MaxBytes int64
	// Store keeps an attachment's content and returns it with its reference (the channel
	// passes connectors.Blobs.Put); an error wrapping connectors.ErrTooLarge or
	// connectors.ErrQuota skips the file with a note instead of failing the mail; any other
	// error fails it. name is safe to store and show (see media.FileName); mediaType is the
	// content's (a JPEG sent as application/octet-stream is stored as image/jpeg). When nil,
	// no file is stored and each is noted in Skipped.
	Store func(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error)
}

// Parse reads one mail from r. See Message. It fails only when the mail cannot be had or
// kept: r fails, the mail is over MaxBytes (wrapping connectors.ErrTooLarge), it has no
// readable header (wrapping ErrMalformed; reading it again cannot help), Store fails other
// than over a limit, or ctx ends. Anything else a mail does wrong (a broken part, an unknown
// charset, damaged base64) is read as far as it goes. It never panics, whatever r holds.
func Parse(ctx context.Context, r io.Reader, opts Options) (*Message, error) {
	return parse(ctx, r, opts)
}
