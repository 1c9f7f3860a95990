package parse

import (
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// bounce is what a delivery failure says about the gateway's mail: from the delivery status
// when there is one (Postfix, Exchange, Gmail), else from what bounces without one carry
// (Exim's X-Failed-Recipients; the returned mail attached, or its header quoted in the text).
func bounce(m *Message, h textproto.Header, rep report) *Bounce {
	b := &Bounce{OriginalMessageID: rep.originalID}
	chosen := pickRecipients(rep.recipients)
	for _, r := range chosen {
		b.Recipients = append(b.Recipients, r.recipient)
	}
	if len(chosen) > 0 {
		first := chosen[0]
		b.Status, b.Diagnostic = first.status, first.diagnostic
		b.Permanent = first.action == "failed" || strings.HasPrefix(first.status, "5")
	}
	if len(b.Recipients) == 0 {
		for _, a := range addressList(strings.Join(h.Values("X-Failed-Recipients"), ", "), fallbackCharset) {
			b.Recipients = append(b.Recipients, a.Email)
		}
		// Exim names the recipients that failed for good; its delay warnings do not.
		b.Permanent = len(b.Recipients) > 0
	}
	if b.OriginalMessageID == "" {
		b.OriginalMessageID = rep.attachedID
	}
	if b.OriginalMessageID == "" {
		if sm := quotedMessageID.FindStringSubmatch(m.FullText); sm != nil {
			b.OriginalMessageID = firstID(sm[1])
		}
	}
	return b
}

// pickRecipients keeps the recipients the report is a failure for, else those delayed, else
// all: a report may also confirm deliveries to others on the same mail.
func pickRecipients(all []dsnRecipient) []dsnRecipient {
	var failed, delayed []dsnRecipient
	for _, r := range all {
		switch {
		case r.action == "failed" || (r.action == "" && strings.HasPrefix(r.status, "5")):
			failed = append(failed, r)
		case r.action == "delayed" || (r.action == "" && strings.HasPrefix(r.status, "4")):
			delayed = append(delayed, r)
		}
	}
	switch {
	case len(failed) > 0:
		return failed
	case len(delayed) > 0:
		return delayed
	}
	return all
}

// quotedMessageID finds the Message-ID line of a mail returned inside a plain-text bounce.
var quotedMessageID = regexp.MustCompile(`(?im)^\s*message-id:\s*(<[^<>\s]+>)`)
