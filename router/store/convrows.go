package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/casino-support/gateway/normalize"
)

// convRow is what intake reads of an inbound message's conversation (inboundConversation).
type convRow struct {
	// read is true when the row was looked for with the call's others (readConversations).
	read         bool
	id           normalize.ConversationID
	status       normalize.Status
	updated      int64
	language     string
	priority     normalize.Priority
	tags, player string
	awaiting     sql.NullInt64
}

const convRowColumns = `id, status, updated_at, language, priority, tags, player, awaiting_since`

func (r *convRow) dest() []any {
	return []any{&r.id, &r.status, &r.updated, &r.language, &r.priority, &r.tags, &r.player, &r.awaiting}
}

type chanAddr struct {
	channel normalize.InstanceName
	address normalize.Address
}

// knownConversations are the conversations of an intake call's inbound messages, read
// together before the first is taken in; a nil row means none existed.
type knownConversations map[chanAddr]*convRow

// take returns the row of (channel, address) read with the call's others, and forgets it: it
// serves the first message of its conversation only, which may change it. r.read is false when
// the row was not read (take on a nil map included); err is sql.ErrNoRows when no such
// conversation existed.
func (k knownConversations) take(channel normalize.InstanceName, address normalize.Address) (r convRow, err error) {
	key := chanAddr{channel, address}
	row, ok := k[key]
	if !ok {
		return convRow{}, nil
	}
	delete(k, key)
	if row == nil {
		return convRow{read: true}, sql.ErrNoRows
	}
	return *row, nil
}

// readConversations reads (and on PostgreSQL locks) the conversations of the new inbound
// messages of msgs in a statement per chunk, when they are several: a getUpdates answer
// spreads over dozens of chats, and a read per message was a round trip each on PostgreSQL
// (issue 16). PostgreSQL locks the rows sorted by (channel, address), so two calls never lock
// each other's rows in opposite orders.
func (s *Store) readConversations(ctx context.Context, tx *wtx, msgs []normalize.Message, fresh []bool) (knownConversations, error) {
	var keys []chanAddr
	known := knownConversations{}
	for i, m := range msgs {
		k := chanAddr{m.Channel, m.Address}
		if _, dup := known[k]; dup || !fresh[i] || m.Direction != normalize.Inbound {
			continue
		}
		known[k] = nil
		keys = append(keys, k)
	}
	if len(keys) < 2 {
		return nil, nil // one is read where it is taken in, as before
	}
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, string(k.channel), string(k.address))
	}
	// No conversation is on channel "".
	err := s.d.eachValues([]string{"TEXT", "TEXT"}, args, markChunk, []any{"", ""}, func(source string, args []any) error {
		return s.readConversationChunk(ctx, tx, source, args, known)
	})
	if err != nil {
		return nil, err
	}
	return known, nil
}

func (s *Store) readConversationChunk(ctx context.Context, tx *wtx, source string, args []any, known knownConversations) error {
	rows, err := tx.QueryContext(ctx, `SELECT channel, address, `+convRowColumns+` FROM conversations
		WHERE (channel, address) IN (`+source+`) ORDER BY channel, address`+s.d.lockRow, args...)
	if err != nil {
		return fmt.Errorf("store: find conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k chanAddr
		r := &convRow{read: true}
		if err := rows.Scan(append([]any{&k.channel, &k.address}, r.dest()...)...); err != nil {
			return fmt.Errorf("store: find conversations: %w", err)
		}
		known[k] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: find conversations: %w", err)
	}
	return nil
}
