package rt

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// The poller reads RT's transactions with one TransactionSQL query a poll (RT 5.0's
// /REST/2.0/transactions?query=...): the transactions after its cursor on the tickets the
// gateway created in its queue that can matter to a conversation, oldest first. The cost of
// a quiet poll is one request, however many tickets there are.
//
// A transaction id is taken when RT starts writing, but visible only once RT commits, and RT
// commits a correspondence after its scrips ran (mail included). On a database with
// concurrent writers (MySQL, PostgreSQL) a transaction can therefore appear after one with a
// higher id on another ticket, and a cursor that had moved past it would lose it. So the
// poller handles a transaction only once it is older than the settle delay (by RT's clock,
// the Date of the answer, plus a second for the whole seconds of Created): every transaction
// with a lower id was started before it and has committed by then. Replies reach the sink
// that much later.

// cursorKey is the Cursors key of the poller's position: the id of the last transaction it
// handled, in decimal.
const cursorKey = "transactions"

// The cursor is shared by every ticket, so a transaction that keeps failing (RT answering
// 5xx or 403 on its parts, its requestors or its owner) holds up every later reply. It is
// retried on each poll until it has failed txnAttempts polls in a row over at least
// txnMinWait, then passed over with an error log: its reply or change is lost, but the
// others go on. A failure of the gateway's own store (errLocal) spends no budget: it holds
// up every transaction alike, so passing one over would lose it and save nothing.
const (
	txnAttempts = 5
	txnMinWait  = 2 * time.Minute
)

// saveTimeout bounds storing the cursor after ctx ended: what was delivered should not be
// delivered again after a restart only because the gateway was stopping.
const saveTimeout = 5 * time.Second

// errRefused marks RT refusing the token on the transactions search itself: no transaction
// can be read until an operator fixes the configuration. A 401 or 403 on one transaction's
// parts is that transaction's failure only.
var errRefused = errors.New("RT refused the gateway's token")

// errSearch marks any other failure of the transactions search: RT does not answer the
// poller at all, which is the helpdesk's health, unlike one transaction's trouble.
var errSearch = errors.New("RT did not answer the transactions search")

// errLocal marks a failure of the gateway's own store (the sink or the blob store) while
// handling a transaction: the transaction is retried on every poll for as long as it lasts.
var errLocal = errors.New("the gateway's store failed")

// Run polls RT every PollInterval and delivers agents' replies, status changes and owner
// changes to sink until ctx ends, then returns nil. When RT refuses the token or does not
// answer the search, the helpdesk is reported unhealthy to the sink (connectors.HealthSink)
// and polling goes on, so a token fixed in RT is picked up without a restart.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	for {
		err := h.pollOnce(ctx, sink)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, errRefused):
			h.log.ErrorContext(ctx, "rt: RT refuses the gateway's token; check token and gateway_user", "helpdesk", h.name, "err", err)
			connectors.ReportHealth(sink, h.name, connectors.Unauthorized(err))
		case errors.Is(err, errSearch):
			h.log.WarnContext(ctx, "rt: poll failed", "helpdesk", h.name, "err", err)
			connectors.ReportHealth(sink, h.name, err)
		case err != nil:
			// One transaction's trouble (its own budget) is no trouble of the helpdesk.
			h.log.WarnContext(ctx, "rt: poll failed", "helpdesk", h.name, "err", err)
		default:
			connectors.ReportHealth(sink, h.name, nil)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// pollOnce handles pages of new transactions until none is left, one is too young, or an
// error stops it; the next poll goes on from the cursor.
func (h *Helpdesk) pollOnce(ctx context.Context, sink connectors.Sink) error {
	cursor, err := h.startCursor(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		next, more, err := h.pollPage(ctx, sink, cursor)
		if next != cursor {
			if serr := h.saveCursor(ctx, next); serr != nil {
				return errors.Join(err, serr)
			}
		}
		if err != nil || !more {
			return err
		}
		cursor = next
	}
	return nil
}

// pollPage handles one page of transactions after cursor and returns the new cursor and
// whether another page may follow.
func (h *Helpdesk) pollPage(ctx context.Context, sink connectors.Sink, cursor int) (int, bool, error) {
	txns, at, err := h.rt.searchTransactions(ctx, h.watchQuery(cursor))
	if err != nil {
		return cursor, false, fmt.Errorf("rt: transactions after %d: %w", cursor, refused(err))
	}
	ready := settled(txns, at, h.cfg.SettleDelay+time.Second)
	evs, buildErr := h.events(ctx, ready)
	next, err := h.deliver(ctx, sink, cursor, evs)
	if err = errors.Join(buildErr, err); err != nil {
		return next, false, err
	}
	return next, len(ready) > 0 && len(ready) == len(txns), nil
}

// watchQuery selects what the poller may pass on after cursor: correspondence, status and
// owner changes by anyone but the gateway and RT itself, on the gateway's tickets in its
// queue. Comments are left out: they are agents' internal notes.
func (h *Helpdesk) watchQuery(cursor int) string {
	return fmt.Sprintf("id > %d AND %s AND Creator != '%s' AND Creator != 'RT_System'"+
		" AND (Type = 'Correspond' OR Type = 'Status' OR (Type = 'Set' AND Field = 'Owner'))",
		cursor, h.ticketsQuery(), sqlQuote(h.cfg.GatewayUser))
}

// ticketsQuery limits a TransactionSQL query to the gateway's tickets in its queue.
func (h *Helpdesk) ticketsQuery() string {
	return fmt.Sprintf("TicketQueue = '%s' AND TicketCreator = '%s'", sqlQuote(h.cfg.Queue), sqlQuote(h.cfg.GatewayUser))
}

// refused marks an auth answer to a transactions search with errRefused, and any other
// failure of it with errSearch.
func refused(err error) error {
	if isAuth(err) {
		return fmt.Errorf("%w: %w", errRefused, err)
	}
	return fmt.Errorf("%w: %w", errSearch, err)
}

// failed records that transaction txn of ticket failed this poll with err and reports
// whether to pass it over now (its budget is spent, see txnAttempts). Otherwise it returns
// err with the count of failed polls, for the poll's warning.
func (h *Helpdesk) failed(ctx context.Context, txn int, ticket string, err error) (bool, error) {
	if errors.Is(err, errLocal) {
		return false, fmt.Errorf("transaction %d of ticket %s, retried until the store recovers: %w", txn, ticket, err)
	}
	f, spent := h.poller.txnFailed(txn, time.Now(), h.txnPatience)
	if !spent {
		return false, fmt.Errorf("transaction %d of ticket %s, failed poll %d (passed over after %d and %s): %w",
			txn, ticket, f.polls, txnAttempts, h.txnPatience, err)
	}
	h.log.ErrorContext(ctx, "rt: a transaction kept failing; passed over, its reply or change is lost and does not reach the player",
		"helpdesk", h.name, "ticket", ticket, "txn", txn, "failed_polls", f.polls, "since", f.since, "err", err)
	return true, nil
}

// settled returns the leading transactions older than hold at RT's time at (the gateway's
// clock when RT sent no Date); the first younger one and all after it wait for a later poll.
func settled(txns []txn, at time.Time, hold time.Duration) []txn {
	if at.IsZero() {
		at = time.Now()
	}
	for i, t := range txns {
		created, err := time.Parse(time.RFC3339, t.Created)
		if err == nil && at.Sub(created) < hold {
			return txns[:i]
		}
	}
	return txns
}

// startCursor returns the poller's position, reading it once: from Cursors, or, when none is
// stored, just before the oldest active ticket of the gateway, so replies made while no
// cursor was kept are not lost (those delivered before come again; the store drops them).
func (h *Helpdesk) startCursor(ctx context.Context) (int, error) {
	h.poller.mu.Lock()
	loaded, cursor := h.poller.loaded, h.poller.cursor
	h.poller.mu.Unlock()
	if loaded {
		return cursor, nil
	}
	cursor, err := h.storedCursor(ctx)
	if err != nil {
		return 0, err
	}
	if cursor == 0 {
		if cursor, err = h.replayStart(ctx); err != nil {
			return 0, err
		}
		h.log.InfoContext(ctx, "rt: no stored poll cursor; replaying from the oldest active ticket", "helpdesk", h.name, "after_txn", cursor)
	}
	h.poller.mu.Lock()
	h.poller.loaded, h.poller.cursor = true, cursor
	h.poller.mu.Unlock()
	return cursor, nil
}

// storedCursor reads the cursor from Cursors; 0 when there is none (or no Cursors).
func (h *Helpdesk) storedCursor(ctx context.Context) (int, error) {
	if h.cursors == nil {
		return 0, nil
	}
	v, err := h.cursors.Cursor(ctx, h.name, cursorKey)
	if err != nil {
		return 0, fmt.Errorf("rt: read the poll cursor: %w", err)
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		// Replaying is safe where a made-up position is not.
		h.log.WarnContext(ctx, "rt: stored poll cursor is not a transaction id; replaying", "helpdesk", h.name, "cursor", v)
		return 0, nil
	}
	return n, nil
}

// replayStart is the transaction before the Create of the gateway's oldest active ticket,
// or, when none is active, its newest transaction on any of its tickets: nothing to replay.
func (h *Helpdesk) replayStart(ctx context.Context) (int, error) {
	first, _, err := h.rt.searchTransactions(ctx, h.ticketsQuery()+" AND TicketStatus = '__Active__' AND Type = 'Create'")
	if err != nil {
		return 0, fmt.Errorf("rt: find the oldest active ticket: %w", refused(err))
	}
	if len(first) > 0 {
		return first[0].ID.int() - 1, nil
	}
	last, err := h.rt.lastTransaction(ctx, h.ticketsQuery())
	if err != nil {
		return 0, fmt.Errorf("rt: find the newest transaction: %w", refused(err))
	}
	return last, nil
}

// saveCursor moves the cursor to n and stores it.
func (h *Helpdesk) saveCursor(ctx context.Context, n int) error {
	h.poller.moveCursor(n)
	if h.cursors == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := h.cursors.SetCursor(ctx, h.name, cursorKey, strconv.Itoa(n)); err != nil {
		return fmt.Errorf("rt: store the poll cursor %d: %w", n, err)
	}
	return nil
}

// event is one polled transaction and the message it became, if any.
type event struct {
	txn int
	msg *normalize.Message
}

// events turns transactions into messages, in order. A transaction RT will never give the
// details of (a permanent error) is logged and passed over, so it cannot hold up every
// ticket; any other error ends the list before the transaction, which the next poll retries,
// until its failure budget is spent (see failed) and it is passed over too.
func (h *Helpdesk) events(ctx context.Context, txns []txn) ([]event, error) {
	evs := make([]event, 0, len(txns))
	for _, t := range txns {
		m, ok, err := h.message(ctx, t)
		switch {
		case err != nil && !errors.Is(err, connectors.ErrPermanent):
			if skip, ferr := h.failed(ctx, t.ID.int(), string(t.Ticket), err); !skip {
				return evs, ferr
			}
		case err != nil:
			h.log.WarnContext(ctx, "rt: transaction passed over", "helpdesk", h.name, "txn", t.ID, "ticket", t.Ticket, "err", err)
		}
		ev := event{txn: t.ID.int()}
		if ok {
			ev.msg = &m
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// deliver hands the messages of evs to sink (connectors.DeliverBatch: in one call, and one
// by one when that fails) and returns the cursor after what was handled: past the last
// transaction before the first message that stopped the delivery, or past all of them.
func (h *Helpdesk) deliver(ctx context.Context, sink connectors.Sink, cursor int, evs []event) (int, error) {
	var msgs []normalize.Message
	var at []int // at[i] is the index in evs of msgs[i]
	for i, ev := range evs {
		if ev.msg != nil {
			msgs = append(msgs, *ev.msg)
			at = append(at, i)
		}
	}
	n, err := connectors.DeliverBatch(ctx, sink, msgs, func(i int, err error) error {
		return h.deliveryFailed(ctx, evs[at[i]], err)
	})
	handled := len(evs) // events settled, from the first
	if n < len(msgs) {
		handled = at[n]
	}
	if handled > 0 {
		cursor = evs[handled-1].txn
	}
	return cursor, err
}

// deliveryFailed is what a delivery of the message of ev alone that failed with err means:
// a message the gateway refuses for good is passed over with a warning; a ticket the store
// does not know yet (its creation is being retried) is this transaction's failure and spends
// its budget, passed over once that is spent; any other failure is the store's own and
// stops the delivery.
func (h *Helpdesk) deliveryFailed(ctx context.Context, ev event, err error) error {
	if connectors.IsPermanent(err) {
		h.log.WarnContext(ctx, "rt: the gateway refused a polled message; passed over", "helpdesk", h.name,
			"txn", ev.txn, "ticket", ev.msg.Ticket, "err", err)
		return nil
	}
	if !errors.Is(err, connectors.ErrNotFound) {
		err = fmt.Errorf("%w: %w", errLocal, err)
	}
	_, err = h.failed(ctx, ev.txn, string(ev.msg.Ticket), fmt.Errorf("rt: deliver: %w", err))
	return err
}
