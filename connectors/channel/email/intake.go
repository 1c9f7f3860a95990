package email

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"

	"github.com/casino-support/gateway/connectors"
)

// idleRestart re-issues IDLE well within the 30 minutes after which servers may drop an idle
// client (RFC 2177 asks for at most 29).
const idleRestart = 25 * time.Minute

// fetchChunk is how many mails are read, stored in one Deliver and marked together.
const fetchChunk = 20

// errSink marks a failed Deliver: the connection is fine, the store is not, so the mailbox is
// read again after a wait without reconnecting.
var errSink = errors.New("the store did not take the mails")

// readMailbox reads the mailbox until ctx ends, reconnecting with back-off. A login the server
// refuses is reported to the sink's health until one succeeds.
func (c *Channel) readMailbox(ctx context.Context, sink connectors.Sink) {
	wait := c.backoff
	for ctx.Err() == nil {
		began := time.Now()
		err := c.session(ctx, sink)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			wait = c.backoff // the connection worked for a while: this is a new failure
		}
		if !errors.Is(err, errSink) {
			connectors.ReportHealth(sink, c.name, err)
		}
		c.log.Warn("email: mailbox reading interrupted, retrying", "mailbox", c.cfg.String(), "err", err, "wait", wait)
		if !connectors.Sleep(ctx, wait) {
			return
		}
		wait = nextBackoff(wait)
	}
}

// session is one IMAP connection: select the mailbox, take in what is new, wait for more
// (IDLE, else polling), until the connection fails or ctx ends.
func (c *Channel) session(ctx context.Context, sink connectors.Sink) error {
	// go-imap blocks its reader while an update waits to be taken: a goroutine drains them,
	// and any news of the mailbox becomes one pending wake-up.
	updates := make(chan client.Update, 64)
	news := make(chan struct{}, 1)
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case u := <-updates:
				if _, ok := u.(*client.MailboxUpdate); ok {
					select {
					case news <- struct{}{}:
					default:
					}
				}
			case <-sessCtx.Done():
				return
			}
		}
	}()
	ic, err := c.dialIMAP(sessCtx, updates)
	if err != nil {
		return err
	}
	defer ic.close()
	status, err := ic.Select(c.cfg.IMAP.Mailbox, false)
	if err != nil {
		return fmt.Errorf("select %s: %w", c.cfg.IMAP.Mailbox, err)
	}
	connectors.ReportHealth(sink, c.name, nil)
	c.log.Info("email: reading mailbox", "mailbox", c.cfg.String(), "uidvalidity", status.UidValidity)
	idle := true
	for {
		if err := c.catchUp(sessCtx, ic, sink, status); err != nil {
			if !errors.Is(err, errSink) {
				return err
			}
			c.log.Warn("email: mails not stored, reading them again after a wait", "err", err, "wait", c.backoff)
			if !connectors.Sleep(ctx, c.backoff) {
				return nil
			}
			continue
		}
		if idle, err = c.waitForMail(sessCtx, ic, news, idle); err != nil || ctx.Err() != nil {
			return err
		}
		// UIDVALIDITY may have changed meanwhile; a fresh status also says UIDNEXT.
		if status, err = ic.Status(c.cfg.IMAP.Mailbox, []imap.StatusItem{imap.StatusUidValidity, imap.StatusUidNext}); err != nil {
			return fmt.Errorf("status of %s: %w", c.cfg.IMAP.Mailbox, err)
		}
	}
}

// waitForMail waits for news of the mailbox: in IDLE while the server has it (idle; false
// once it turned out not to), else for the poll interval. IDLE is left at least every poll
// interval too, as a safety net for servers that miss a notification.
func (c *Channel) waitForMail(ctx context.Context, ic *imapConn, news <-chan struct{}, idle bool) (bool, error) {
	timer := time.NewTimer(c.cfg.IMAP.PollInterval)
	defer timer.Stop()
	if !idle {
		select {
		case <-timer.C:
		case <-news:
		case <-ctx.Done():
		}
		return false, nil
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	ic.Timeout = 0
	defer func() { ic.Timeout = imapCommandTimeout }()
	go func() { done <- ic.Idle(stop, &client.IdleOptions{LogoutTimeout: idleRestart, PollInterval: -1}) }()
	select {
	case err := <-done:
		if errors.Is(err, client.ErrExtensionUnsupported) {
			c.log.Info("email: the server has no IDLE; polling", "interval", c.cfg.IMAP.PollInterval)
			return false, nil
		}
		if err == nil {
			err = errors.New("IDLE ended by the server")
		}
		return true, fmt.Errorf("idle: %w", err)
	case <-timer.C:
	case <-news:
	case <-ctx.Done():
	}
	close(stop)
	if err := <-done; err != nil && ctx.Err() == nil {
		return true, fmt.Errorf("idle: %w", err)
	}
	return true, nil
}

// catchUp takes in every mail the cursor has not passed, in UID order, a chunk at a time: each
// chunk is stored, then marked (\Seen or moved), then the cursor passes it. A crash between
// those steps reads the chunk again, and the store drops what it has.
func (c *Channel) catchUp(ctx context.Context, ic *imapConn, sink connectors.Sink, status *imap.MailboxStatus) error {
	cur, ok, err := c.loadCursor(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errSink, err)
	}
	if !ok || cur.validity != status.UidValidity {
		if ok {
			c.log.Warn("email: the mailbox's UIDVALIDITY changed; reading it again, the store drops what it has",
				"mailbox", c.cfg.IMAP.Mailbox, "was", cur.validity, "now", status.UidValidity)
		}
		cur = cursor{validity: status.UidValidity, floor: max(status.UidNext, 1) - 1}
		if err := c.saveCursor(ctx, cur); err != nil {
			return fmt.Errorf("%w: %w", errSink, err)
		}
	}
	uids, err := c.pending(ic, cur)
	if err != nil {
		return err
	}
	for len(uids) > 0 {
		chunk := uids[:min(fetchChunk, len(uids))]
		uids = uids[len(chunk):]
		settled, err := c.takeIn(ctx, ic, sink, chunk)
		if len(settled) > 0 {
			if merr := c.markHandled(ic, settled); merr != nil {
				return merr
			}
			cur.last = max(cur.last, slices.Max(settled))
			if serr := c.saveCursor(ctx, cur); serr != nil {
				return fmt.Errorf("%w: %w", errSink, serr)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pending returns the UIDs of the mails the cursor has not passed, ascending.
func (c *Channel) pending(ic *imapConn, cur cursor) ([]uint32, error) {
	var uids []uint32
	if cur.last < cur.floor {
		var seen []string
		if c.cfg.IMAP.AfterDelivery == AfterSeen {
			seen = []string{imap.SeenFlag}
		}
		found, err := c.search(ic, cur.last+1, cur.floor, seen)
		if err != nil {
			return nil, err
		}
		uids = append(uids, found...)
	}
	found, err := c.search(ic, max(cur.last, cur.floor)+1, 0, nil)
	if err != nil {
		return nil, err
	}
	uids = append(uids, found...)
	slices.Sort(uids)
	return slices.Compact(uids), nil
}

// search returns the UIDs from first to last (0: the highest) of mails without the flags
// without. "n:*" always matches the highest UID, even one below n: those are left out.
func (c *Channel) search(ic *imapConn, first, last uint32, without []string) ([]uint32, error) {
	crit := imap.NewSearchCriteria()
	crit.Uid = new(imap.SeqSet)
	crit.Uid.AddRange(first, last)
	crit.WithoutFlags = without
	found, err := ic.UidSearch(crit)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", c.cfg.IMAP.Mailbox, err)
	}
	return slices.DeleteFunc(found, func(u uint32) bool { return u < first || (last != 0 && u > last) }), nil
}

// markHandled sets \Seen on the mails, or moves them, as after_delivery says.
func (c *Channel) markHandled(ic *imapConn, uids []uint32) error {
	set := new(imap.SeqSet)
	set.AddNum(uids...)
	if c.cfg.IMAP.AfterDelivery == AfterMove {
		if err := ic.UidMove(set, c.cfg.IMAP.MoveTo); err != nil {
			return fmt.Errorf("move %d mails to %s: %w", len(uids), c.cfg.IMAP.MoveTo, err)
		}
		return nil
	}
	flags := []any{imap.SeenFlag}
	if err := ic.UidStore(set, imap.FormatFlagsOp(imap.AddFlags, true), flags, nil); err != nil {
		return fmt.Errorf("mark %d mails seen: %w", len(uids), err)
	}
	return nil
}
