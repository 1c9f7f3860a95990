package email

import (
	"context"
	"fmt"
	"io"

	"github.com/emersion/go-imap"

	"github.com/casino-support/gateway/connectors"
)

// takeIn reads the mails uids (ascending), stores them, and returns the UIDs settled from the
// first on (stored, dropped as noise, or their bounce recorded), which the caller marks and
// the cursor passes; err says why it stopped before the end.
func (c *Channel) takeIn(ctx context.Context, ic *imapConn, sink connectors.Sink, uids []uint32) ([]uint32, error) {
	sizes, err := c.fetchSizes(ic, uids)
	if err != nil {
		return nil, err
	}
	var items []item
	var stop error
	for _, uid := range uids {
		size, ok := sizes[uid]
		if !ok {
			continue // expunged since the search: nothing to take in
		}
		tooLarge := int64(size) > c.cfg.MaxMailBytes
		raw, err := c.fetchRaw(ic, uid, tooLarge)
		if err != nil {
			stop = err
			break
		}
		it, err := c.prepare(ctx, raw, int64(size), tooLarge)
		if err != nil {
			stop = fmt.Errorf("%w: %w", errSink, err)
			break
		}
		it.uid = uid
		items = append(items, it)
	}
	n, err := c.settle(ctx, sink, items)
	settled := make([]uint32, n)
	for i := range settled {
		settled[i] = items[i].uid
	}
	if err != nil {
		return settled, err
	}
	return settled, stop
}

// fetchSizes returns the size of each mail of uids that still exists.
func (c *Channel) fetchSizes(ic *imapConn, uids []uint32) (map[uint32]uint32, error) {
	set := new(imap.SeqSet)
	set.AddNum(uids...)
	ch := make(chan *imap.Message, len(uids))
	if err := ic.UidFetch(set, []imap.FetchItem{imap.FetchUid, imap.FetchRFC822Size}, ch); err != nil {
		return nil, fmt.Errorf("fetch sizes: %w", err)
	}
	sizes := make(map[uint32]uint32, len(uids))
	for m := range ch {
		sizes[m.Uid] = m.Size
	}
	return sizes, nil
}

// fetchRaw returns a mail as it is, or only its header when the whole is over the limit:
// the header still threads it and says who wrote, for the note to the agents.
func (c *Channel) fetchRaw(ic *imapConn, uid uint32, headerOnly bool) ([]byte, error) {
	section := &imap.BodySectionName{Peek: true}
	if headerOnly {
		section.Specifier = imap.HeaderSpecifier
	}
	set := new(imap.SeqSet)
	set.AddNum(uid)
	ch := make(chan *imap.Message, 1)
	done := make(chan error, 1)
	go func() { done <- ic.UidFetch(set, []imap.FetchItem{imap.FetchUid, section.FetchItem()}, ch) }()
	var raw []byte
	var readErr error
	for m := range ch {
		if body := m.GetBody(section); body != nil && raw == nil {
			raw, readErr = io.ReadAll(body)
		}
	}
	if err := <-done; err != nil {
		return nil, fmt.Errorf("fetch mail %d: %w", uid, err)
	}
	if readErr != nil {
		return nil, fmt.Errorf("read mail %d: %w", uid, readErr)
	}
	if raw == nil {
		return nil, fmt.Errorf("fetch mail %d: the server sent no body", uid)
	}
	return raw, nil
}
