package inbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

var _ connectors.Forgetter = (*Inbox)(nil)

// forgetChunk bounds the conversation IDs one DELETE names, well below SQLite's limit on
// bound parameters; the router's batches are smaller still.
const forgetChunk = 500

// Forget deletes the ticket rows of convs, which retention deleted from the gateway store: the
// row is all the inbox keeps of a conversation (the player's name, language and VIP tier, the
// last message's first line, the SLA times), so nothing of it is left in the list, its search
// or the channel filter. The deletion is one transaction: all of convs are forgotten or none.
// Conversations without a row (never posted here, or forgotten already) are no error.
//
// The typing throttle's keys name conversation IDs for seconds and nothing of the player, and
// sessions belong to agents: neither is touched.
func (i *Inbox) Forget(ctx context.Context, convs []normalize.ConversationID) error {
	if len(convs) == 0 {
		return nil
	}
	if err := i.deleteTickets(ctx, convs); err != nil {
		return fmt.Errorf("inbox %s: forget %d conversations: %w", i.name, len(convs), err)
	}
	// Open lists refetch and drop the rows; an open thread page of one finds it gone.
	i.changed(ctx, convs...)
	return nil
}

func (i *Inbox) deleteTickets(ctx context.Context, convs []normalize.ConversationID) error {
	tx, err := i.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for start := 0; start < len(convs); start += forgetChunk {
		chunk := convs[start:min(start+forgetChunk, len(convs))]
		args := make([]any, len(chunk))
		for n, c := range chunk {
			args[n] = c
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tickets WHERE conversation_id IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...); err != nil {
			return fmt.Errorf("delete tickets: %w", err)
		}
	}
	return tx.Commit()
}
