package parse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-message/textproto"

	"github.com/casino-support/gateway/connectors"
)

// DefaultMaxBytes bounds a mail when Options.MaxBytes is not set: a parse is never unbounded.
// 50 MiB is above the 25 to 35 MB most mail services let a message grow to after encoding.
const DefaultMaxBytes = 50 << 20

// ErrMalformed is wrapped by the error for a mail that has no readable header: reading it
// again cannot help, so the channel may set it aside instead of retrying.
var ErrMalformed = errors.New("not a readable mail")

// parse reads the whole mail before it stores anything, so that a mail over MaxBytes stores
// nothing (the contract) and a multipart body can be walked without buffering parts twice.
// The mail is held once in memory; the decoded copy of one attachment at a time is the only
// other large allocation.
func parse(ctx context.Context, r io.Reader, opts Options) (*Message, error) {
	raw, err := readAll(r, opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	raw = skipMboxLine(raw)
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("parse: header: %w: %w", ErrMalformed, err)
	}
	if h.Len() == 0 {
		return nil, fmt.Errorf("parse: %w: no header fields", ErrMalformed)
	}
	m := &Message{}
	fallback := headerCharset(h)
	readHeaders(m, h, fallback)
	w := &walker{ctx: ctx, store: opts.Store, msg: m, fallback: fallback}
	b, err := w.walk(h, br, 0, "")
	if err != nil {
		return nil, err
	}
	w.finish(b)
	classify(m, h, w.report)
	return m, nil
}

// readAll reads r up to the limit; one byte more means the mail is too large.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("parse: read mail: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("parse: mail over %d bytes: %w", limit, connectors.ErrTooLarge)
	}
	return raw, nil
}

// skipMboxLine drops the "From sender date" line that mbox files and some pipes put before
// the header: it has no colon after a valid field name, so the header reader refuses it.
func skipMboxLine(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return nil
}
