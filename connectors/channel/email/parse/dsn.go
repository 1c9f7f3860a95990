package parse

import (
	"bytes"
	"strings"
)

// dsnRecipient is one per-recipient block of a delivery status (RFC 3464).
type dsnRecipient struct {
	recipient, action, status, diagnostic string
}

// maxDSNRecipients bounds the blocks read from one status: a bounce of the gateway's own
// mail names one player, a hostile one must not name millions.
const maxDSNRecipients = 100

// parseDeliveryStatus reads the per-recipient blocks of a message/delivery-status body: header
// fields in blocks separated by blank lines, the first block being about the message. It is
// lenient, as Postfix, Exim, Exchange and Gmail all write them a little differently.
func parseDeliveryStatus(data []byte) []dsnRecipient {
	var out []dsnRecipient
	for _, block := range bytes.Split(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n\n")) {
		fields := statusFields(string(block))
		rcpt := addressType(fields["final-recipient"])
		if rcpt == "" {
			rcpt = addressType(fields["original-recipient"])
		}
		if rcpt == "" {
			continue // the per-message block, or noise
		}
		out = append(out, dsnRecipient{
			recipient:  rcpt,
			action:     strings.ToLower(strings.TrimSpace(fields["action"])),
			status:     firstWord(fields["status"]),
			diagnostic: addressType(fields["diagnostic-code"]),
		})
		if len(out) == maxDSNRecipients {
			break
		}
	}
	return out
}

// firstWord is the status code before any comment ("4.4.1 (timeout)").
func firstWord(v string) string {
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}

// statusFields reads "Name: value" lines with folded continuations; names lower case, the
// first of a repeated field kept.
func statusFields(block string) map[string]string {
	fields := map[string]string{}
	last := ""
	for _, line := range strings.Split(block, "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			fields[last] += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := fields[name]; dup {
			last = ""
			continue
		}
		fields[name] = strings.TrimSpace(value)
		last = name
	}
	return fields
}

// addressType drops the type that starts a recipient or diagnostic ("rfc822; a@b",
// "smtp; 550 5.1.1 ...").
func addressType(v string) string {
	v = strings.TrimSpace(v)
	if typ, rest, ok := strings.Cut(v, ";"); ok && token(strings.TrimSpace(typ)) {
		v = strings.TrimSpace(rest)
	}
	return strings.Join(strings.Fields(v), " ")
}
