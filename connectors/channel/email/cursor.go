package email

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// cursor is how far the mailbox has been read, kept in the store so a restart neither reads a
// mail twice nor skips one. UIDs mean something only under one UIDVALIDITY: when the server
// changes it, the cursor starts afresh and the store's dedup on Message-IDs drops what comes
// again.
//
// floor is the last UID the mailbox had when the cursor started: mail up to it was there
// before the gateway read the mailbox, and only what is not \Seen of it is taken (with
// after_delivery move, all of it: the mailbox holds only what is not handled). Mail above it
// is all new, read or not (an operator's client may have looked at it first). last is the
// highest UID handled.
type cursor struct {
	validity    uint32
	floor, last uint32
}

// cursorKey names the cursor of a mailbox among the instance's.
func cursorKey(mailbox string) string { return "imap:" + mailbox }

// loadCursor returns the stored cursor; ok is false when there is none.
func (c *Channel) loadCursor(ctx context.Context) (cur cursor, ok bool, err error) {
	v, err := c.cursors.Cursor(ctx, c.name, cursorKey(c.cfg.IMAP.Mailbox))
	if err != nil || v == "" {
		return cursor{}, false, err
	}
	f := strings.Fields(v)
	if len(f) != 4 || f[0] != "v1" {
		c.log.Warn("email: unreadable mailbox cursor, reading the mailbox afresh", "cursor", v)
		return cursor{}, false, nil
	}
	var n [3]uint64
	for i := range n {
		if n[i], err = strconv.ParseUint(f[i+1], 10, 32); err != nil {
			c.log.Warn("email: unreadable mailbox cursor, reading the mailbox afresh", "cursor", v)
			return cursor{}, false, nil
		}
	}
	return cursor{validity: uint32(n[0]), floor: uint32(n[1]), last: uint32(n[2])}, true, nil
}

// saveCursor stores cur durably.
func (c *Channel) saveCursor(ctx context.Context, cur cursor) error {
	v := fmt.Sprintf("v1 %d %d %d", cur.validity, cur.floor, cur.last)
	if err := c.cursors.SetCursor(ctx, c.name, cursorKey(c.cfg.IMAP.Mailbox), v); err != nil {
		return fmt.Errorf("save the mailbox cursor: %w", err)
	}
	return nil
}
