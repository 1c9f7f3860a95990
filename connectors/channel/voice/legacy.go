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

// migrateLegacy moves what the pending list of an older version names into records: a
// voicemail becomes its state piece (the settle loop goes on with it as it was: fetched,
// delivered, waiting for a transcript), a call's end the same record. Each moved cursor is
// emptied, the list last, so a crash in between moves the rest next time, and moving one
// again writes the same. An error is logged, and the next sweep tries again.
//
// An older replica may add to the list while it is moved (a rolling upgrade): the list is
// read again after the move and cleared only when it names nothing new. What such a replica
// adds in the moment between that read and the clearing stays in its cursor unsettled; the
// Cursors API has no compare-and-set to close that gap.
func (c *Channel) migrateLegacy(ctx context.Context) {
	moved := map[string]bool{}
	for {
		raw, err := c.cursors.Cursor(ctx, c.name, legacyPendingKey)
		if err == nil && raw == "" {
			break
		}
		var keys []string
		if err == nil {
			if err := json.Unmarshal([]byte(raw), &keys); err != nil {
				c.log.Error("voice: the old list of voicemails under way cannot be read; it is dropped", "err", err)
				keys = nil
			}
		}
		fresh := 0
		for _, key := range keys {
			if err != nil {
				break
			}
			if !moved[key] {
				fresh++
				err = c.migrateLegacyKey(ctx, key)
				moved[key] = err == nil
			}
		}
		if err == nil && fresh == 0 {
			err = c.cursors.SetCursor(ctx, c.name, legacyPendingKey, "")
			if err == nil {
				break
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				c.log.Error("voice: move the old list of voicemails under way; trying again", "err", err)
			}
			return
		}
	}
	if len(moved) > 0 {
		c.log.Info("voice: moved the old list of voicemails under way into records", "keys", len(moved))
	}
}

// migrateLegacyKey moves the cursor key of the old pending list into a record and empties
// the cursor.
func (c *Channel) migrateLegacyKey(ctx context.Context, key string) error {
	raw, err := c.cursors.Cursor(ctx, c.name, key)
	if err != nil || raw == "" {
		return err
	}
	switch {
	case strings.HasPrefix(key, "vm:"):
		var v voicemail
		if err := json.Unmarshal([]byte(raw), &v); err != nil || v.Recording == "" {
			c.log.Error("voice: an old voicemail record cannot be read; it is dropped", "key", key, "err", err)
			return c.cursors.SetCursor(ctx, c.name, key, "")
		}
		err = c.save(ctx, pieceKey(v.Recording, pieceState), v)
	case strings.HasPrefix(key, "end:"):
		var e callEnd
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.Call == "" {
			c.log.Error("voice: an old record of a call's end cannot be read; it is dropped", "key", key, "err", err)
			return c.cursors.SetCursor(ctx, c.name, key, "")
		}
		err = c.save(ctx, endKey(e.Call), e)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	return c.cursors.SetCursor(ctx, c.name, key, "")
}
