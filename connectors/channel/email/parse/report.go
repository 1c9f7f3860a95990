package parse

import (
	"bufio"
	"bytes"
	"io"

	"github.com/emersion/go-message/textproto"
)

// report is what the machine-readable parts of a multipart/report said.
type report struct {
	// kind is the report-type of the outermost multipart/report ("delivery-status",
	// "disposition-notification"); "" when the mail has none.
	kind       string
	recipients []dsnRecipient
	// originalID is the Message-ID of the returned mail or of its returned header.
	originalID string
	// attachedID is the Message-ID of the first mail attached outside a report, which is the
	// returned mail of a bounce that has no report.
	attachedID string
}

// isReportPart reports whether a part of a multipart/report is one of its machine-readable
// parts, read here rather than stored: the status itself and the returned mail, which is the
// gateway's own outbound message and of no use to an agent as a file.
func isReportPart(mt string) bool {
	switch mt {
	case "message/delivery-status", "message/global-delivery-status",
		"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers",
		"message/disposition-notification", "message/global-disposition-notification":
		return true
	}
	return false
}

// reportPart reads one machine-readable part of a report.
func (w *walker) reportPart(h textproto.Header, mt string, r io.Reader) {
	// Only the start matters: a status is a few lines, the returned mail's ID is in its
	// header. The rest is drained by the multipart reader.
	data, _ := io.ReadAll(io.LimitReader(transferDecoder(h, r), 1<<20))
	switch mt {
	case "message/delivery-status", "message/global-delivery-status":
		w.report.recipients = append(w.report.recipients, parseDeliveryStatus(data)...)
	case "message/disposition-notification", "message/global-disposition-notification":
	default:
		if w.report.originalID == "" {
			rh, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
			w.report.originalID = firstID(rh.Get("Message-Id"))
		}
	}
}
