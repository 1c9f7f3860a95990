package voice

import (
	"context"
	"encoding/json"
	"strings"
)

// Before the voicemails under way were records of their own, the line kept them in its
// cursors: a JSON list of keys under "pending", and under each key (vm:<recording>,
// end:<call>) its JSON record. Two replicas taking callbacks at once could each rewrite the
// list and lose the other's entry; the records have no list to lose.
const legacyPendingKey = "pending"

// migrateLegacy moves what the pending list of an older version names into records, once,
// before the first sweep: a voicemail becomes its state piece (the settle loop goes on with
// it as it was: fetched, delivered, waiting for a transcript), a call's end the same record.
// Each moved cursor is emptied, the list last, so a crash in between moves the rest next
// time, and moving one again writes the same. It reports whether nothing is left to move; an
// error is logged, and the next sweep tries again.
func (c *Channel) migrateLegacy(ctx context.Context) bool {
	raw, err := c.cursors.Cursor(ctx, c.name, legacyPendingKey)
	if err == nil && raw == "" {
		return true
	}
	var keys []string
	if err == nil {
		if err := json.Unmarshal([]byte(raw), &keys); err != nil {
			c.log.Error("voice: the old list of voicemails under way cannot be read; it is dropped", "err", err)
			keys = nil
		}
	}
	moved := 0
	for _, key := range keys {
		if err != nil {
			break
		}
		var ok bool
		ok, err = c.migrateLegacyKey(ctx, key)
		if ok {
			moved++
		}
	}
	if err == nil {
		err = c.cursors.SetCursor(ctx, c.name, legacyPendingKey, "")
	}
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("voice: move the old list of voicemails under way; trying again", "err", err)
		}
		return false
	}
	c.log.Info("voice: moved the old list of voicemails under way into records", "records", moved)
	return true
}

// migrateLegacyKey moves the cursor key of the old pending list into a record and empties
// the cursor; moved is false when there was nothing (left) to move.
func (c *Channel) migrateLegacyKey(ctx context.Context, key string) (moved bool, err error) {
	raw, err := c.cursors.Cursor(ctx, c.name, key)
	if err != nil || raw == "" {
		return false, err
	}
	switch {
	case strings.HasPrefix(key, "vm:"):
		var v voicemail
		if err := json.Unmarshal([]byte(raw), &v); err != nil || v.Recording == "" {
			c.log.Error("voice: an old voicemail record cannot be read; it is dropped", "key", key, "err", err)
			return false, c.cursors.SetCursor(ctx, c.name, key, "")
		}
		err = c.save(ctx, pieceKey(v.Recording, pieceState), v)
	case strings.HasPrefix(key, "end:"):
		var e callEnd
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.Call == "" {
			c.log.Error("voice: an old record of a call's end cannot be read; it is dropped", "key", key, "err", err)
			return false, c.cursors.SetCursor(ctx, c.name, key, "")
		}
		err = c.save(ctx, endKey(e.Call), e)
	default:
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, c.cursors.SetCursor(ctx, c.name, key, "")
}
