package cloud

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Window is how long after a player's last message the business may answer freely: Meta's
// customer-service window. Outside it only template messages reach the player.
const Window = 24 * time.Hour

// persistEvery is how much later a player's last message must be than the one stored before
// it is stored again: every message would double the store's writes, and a window known a
// minute short errs on the safe side.
const persistEvery = time.Minute

// windows keeps when each player last wrote, from the messages Run delivered: in memory, and
// in the store's cursors (key "last-inbound:<address>") so that a restart still knows.
type windows struct {
	name    normalize.InstanceName
	cursors connectors.Cursors // nil: memory only
	now     func() time.Time

	mu        sync.Mutex
	last      map[normalize.Address]time.Time
	persisted map[normalize.Address]time.Time
}

func newWindows(name normalize.InstanceName, cursors connectors.Cursors, now func() time.Time) *windows {
	return &windows{name: name, cursors: cursors, now: now,
		last: map[normalize.Address]time.Time{}, persisted: map[normalize.Address]time.Time{}}
}

func cursorKey(a normalize.Address) string { return "last-inbound:" + string(a) }

// seen records that the player at a wrote at t (the message's own time, as Meta stamped it).
// It returns the error of storing it; the message itself is stored already.
func (w *windows) seen(ctx context.Context, a normalize.Address, t time.Time) error {
	w.mu.Lock()
	if t.After(w.last[a]) {
		w.last[a] = t
	}
	store := w.cursors != nil && t.Sub(w.persisted[a]) >= persistEvery
	if store {
		w.persisted[a] = t
	}
	w.mu.Unlock()
	if !store {
		return nil
	}
	if err := w.cursors.SetCursor(ctx, w.name, cursorKey(a), strconv.FormatInt(t.Unix(), 10)); err != nil {
		w.mu.Lock()
		delete(w.persisted, a)
		w.mu.Unlock()
		return err
	}
	return nil
}

// open reports whether a reply to a may go as a free-form message: the player wrote within
// Window, or the channel does not know when they last wrote (a conversation older than the
// cursors), in which case Meta decides and a refusal (131047) is handled like a closed window.
func (w *windows) open(ctx context.Context, a normalize.Address) (bool, error) {
	last, known, err := w.lastSeen(ctx, a)
	if err != nil || !known {
		return true, err
	}
	return w.now().Sub(last) < Window, nil
}

// lastSeen returns when the player at a last wrote, from memory or, after a restart, the store.
func (w *windows) lastSeen(ctx context.Context, a normalize.Address) (time.Time, bool, error) {
	w.mu.Lock()
	t, ok := w.last[a]
	w.mu.Unlock()
	if ok || w.cursors == nil {
		return t, ok, nil
	}
	v, err := w.cursors.Cursor(ctx, w.name, cursorKey(a))
	if err != nil || v == "" {
		return time.Time{}, false, err
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, nil
	}
	t = time.Unix(secs, 0).UTC()
	w.mu.Lock()
	if t.After(w.last[a]) {
		w.last[a] = t
		w.persisted[a] = t
	}
	w.mu.Unlock()
	return t, true, nil
}
