package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// convRow is what intake reads of an inbound message's conversation (inboundConversation).
type convRow struct {
	// read is true when the row was looked for with the call's others (readConversations).
	read bool
	// opened is true when the call opened the conversation (openConversations).
	opened       bool
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

// take returns the row of (channel, address) read with the call's others, or as the call's
// last message of the conversation left it (keep), and forgets it: the message may change it.
// r.read is false when the row was not read; err is sql.ErrNoRows when no such conversation
// existed.
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

// keep makes row, as a message of this call left its conversation, what take returns for
// the call's next message of (channel, address). A getUpdates answer holds several messages
// of some chats, and reading the row again for each was a round trip on PostgreSQL (issue
// 16). Only intake's inbound messages change what row holds, in inboundConversation; an
// agent's message clears the map. Within the transaction no one else changes the row: on
// PostgreSQL intake holds its lock, and SQLite has one writer.
func (k knownConversations) keep(channel normalize.InstanceName, address normalize.Address, row convRow) {
	row.read, row.opened = true, false
	k[chanAddr{channel, address}] = &row
}

// lookUp records the dedup keys of msgs (recordExternalIDs) and reads their inbound
// messages' conversations (readConversations). On PostgreSQL both go in one round trip with
// the BEGIN: they were four, one after the other, at the start of every intake (issue 16).
// The conversation of a message that turns out to be a duplicate is read with the others;
// nothing takes it.
func (s *Store) lookUp(ctx context.Context, tx *wtx, msgs []normalize.Message) ([]bool, knownConversations, error) {
	fresh, err := recordExternalIDs(ctx, tx, msgs)
	if err != nil {
		return nil, nil, err
	}
	known, err := s.readConversations(ctx, tx, msgs)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.flush(ctx); err != nil {
		return nil, nil, err
	}
	return fresh, known, nil
}

// readConversations reads (and on PostgreSQL locks) the conversations of the inbound
// messages of msgs in a statement per chunk, on PostgreSQL only queued (lookUp sends them): a
// getUpdates answer spreads over dozens of chats, and a read per message was a round trip
// each on PostgreSQL (issue 16). The keys are sorted, and PostgreSQL locks each chunk's rows
// in that order, so two calls never lock each other's rows in opposite orders.
func (s *Store) readConversations(ctx context.Context, tx *wtx, msgs []normalize.Message) (knownConversations, error) {
	var keys []chanAddr
	known := knownConversations{}
	for _, m := range msgs {
		k := chanAddr{m.Channel, m.Address}
		if _, dup := known[k]; dup || m.Direction != normalize.Inbound {
			continue
		}
		known[k] = nil
		keys = append(keys, k)
	}
	if len(keys) == 0 || len(keys) == 1 && tx.conn == nil {
		// SQLite reads one where it is taken in, as before; the map keeps it for its next
		// messages.
		return knownConversations{}, nil
	}
	slices.SortFunc(keys, func(a, b chanAddr) int {
		return cmp.Or(cmp.Compare(a.channel, b.channel), cmp.Compare(a.address, b.address))
	})
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, string(k.channel), string(k.address))
	}
	// No conversation is on channel "".
	err := s.d.eachValues([]string{"TEXT", "TEXT"}, args, markChunk, []any{"", ""}, func(source string, args []any) error {
		return tx.readLater(ctx, func(rows rowReader) error {
			for rows.Next() {
				var k chanAddr
				r := &convRow{read: true}
				if err := rows.Scan(append([]any{&k.channel, &k.address}, r.dest()...)...); err != nil {
					return fmt.Errorf("store: find conversations: %w", err)
				}
				known[k] = r
			}
			return nil
		}, `SELECT channel, address, `+convRowColumns+` FROM conversations
			WHERE (channel, address) IN (`+source+`) ORDER BY channel, address`+s.d.lockRow, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: find conversations: %w", err)
	}
	return known, nil
}

// openConversation opens m's conversation (insertConversations); opened is false when one
// exists already.
func (s *Store) openConversation(ctx context.Context, tx *wtx, m normalize.Message, a Assessment, now int64) (id normalize.ConversationID, opened bool, err error) {
	o, err := newOpening(m, a, now)
	if err != nil {
		return "", false, err
	}
	if err := s.insertConversations(ctx, tx, []*opening{o}, now); err != nil {
		return "", false, err
	}
	return o.row.id, o.row.opened, nil
}

// conversationInsertColumns are a new conversation's columns, in the order of
// conversationInsertTypes and of newConversation's values.
const conversationInsertColumns = `id, channel, channel_kind, address, helpdesk, status, priority, language, tags, player,
	created_at, updated_at, awaiting_since, sla_due_at, assignee, sla_warn_at, complex_at`

var conversationInsertTypes = []string{"TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT",
	"BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT"}

// newConversation is the row of m's new conversation as a assessed it: what intake reads of
// it, and its values (conversationInsertColumns). Its response clock starts with it, near
// breach and complex flag included, unless a bot holds it.
func newConversation(m normalize.Message, a Assessment, now int64) (row convRow, vals []any, err error) {
	if a.Helpdesk == "" {
		return row, nil, connectors.Permanent(fmt.Errorf("store: no helpdesk for a new conversation on %s", m.Channel))
	}
	if a.Priority == "" {
		a.Priority = normalize.PriorityNormal
	}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	tagsJSON, _ := json.Marshal(a.Tags)
	player, _ := json.Marshal(m.Author)
	assignee := ""
	if a.Assignee != nil && *a.Assignee != (normalize.Agent{}) {
		b, _ := json.Marshal(a.Assignee)
		assignee = string(b)
	}
	var warn, due, complex sql.NullInt64
	if startsClock(m) && a.Hold == "" {
		row.awaiting = sql.NullInt64{Int64: now, Valid: true}
		warn, due = a.clockTimes(now, false, m.Author.VIPTier)
	}
	if a.Complex {
		complex = sql.NullInt64{Int64: now, Valid: true}
	}
	row = convRow{read: true, id: normalize.NewConversationID(), status: normalize.StatusOpen, updated: now,
		language: m.Author.Language, priority: a.Priority, tags: string(tagsJSON), player: string(player), awaiting: row.awaiting}
	return row, []any{row.id, m.Channel, m.ChannelKind, m.Address, a.Helpdesk, row.status, row.priority, row.language, row.tags, row.player,
		now, now, row.awaiting, due, assignee, warn, complex}, nil
}

// opening is a conversation to open for its first message m, as a assessed it.
type opening struct {
	key  chanAddr
	row  convRow // row.opened once inserted: otherwise another replica opened it meanwhile
	vals []any   // conversationInsertColumns
	m    normalize.Message
	a    Assessment
}

func newOpening(m normalize.Message, a Assessment, now int64) (*opening, error) {
	row, vals, err := newConversation(m, a, now)
	if err != nil {
		return nil, err
	}
	return &opening{key: chanAddr{m.Channel, m.Address}, row: row, vals: vals, m: m, a: a}, nil
}

// insertConversations inserts the conversations of openings, in a statement per chunk, and
// gives each one inserted what a new conversation has beyond its row: a bot's hold and its
// player's link. A conversation another replica opened meanwhile is not inserted (ON CONFLICT
// DO NOTHING; on PostgreSQL the insert waits for the other to commit), and its row.opened
// stays false.
func (s *Store) insertConversations(ctx context.Context, tx *wtx, openings []*opening, now int64) error {
	byID := make(map[normalize.ConversationID]*opening, len(openings))
	vals := make([]any, 0, len(openings)*len(conversationInsertTypes))
	for _, o := range openings {
		byID[o.row.id] = o
		vals = append(vals, o.vals...)
	}
	err := s.d.eachValues(conversationInsertTypes, vals, markChunk, nil, func(source string, args []any) error {
		return tx.read(ctx, func(rows rowReader) error {
			for rows.Next() {
				var id normalize.ConversationID
				if err := rows.Scan(&id); err != nil {
					return err
				}
				if o := byID[id]; o != nil {
					o.row.opened = true
				}
			}
			return nil
		}, `INSERT INTO conversations (`+conversationInsertColumns+`) `+source+` ON CONFLICT (channel, address) DO NOTHING RETURNING id`, args...)
	})
	if err != nil {
		return fmt.Errorf("store: insert conversation: %w", err)
	}
	for _, o := range openings {
		if !o.row.opened {
			continue
		}
		if o.a.Hold != "" {
			if err := holdLane(ctx, tx, o.row.id, o.a.Hold); err != nil {
				return err
			}
		}
		if err := linkPlayer(ctx, tx, o.row.id, o.m.Author.PlayerID, o.m.Author.PlayerIDBy, now); err != nil {
			return err
		}
	}
	return nil
}

// openConversations opens the conversations that readConversations found missing
// (insertConversations), with the assessment of each one's first message: it returns them by
// that message, for it not to be assessed again and to be reported as opening its
// conversation, whichever way intakeOne finds it. The first second of a load, or a burst
// after an outage, opens dozens of conversations per getUpdates answer, and each insert was a
// round trip on PostgreSQL while intake held its conversations' rows and completions waited
// for them (issue 16). A conversation another replica opened meanwhile is found by its message
// as before (inboundConversation).
func (s *Store) openConversations(ctx context.Context, tx *wtx, msgs []normalize.Message, fresh []bool, known knownConversations, assess Assess, now int64) (map[int]*opening, error) {
	assessed := map[int]*opening{}
	var openings []*opening
	for i, m := range msgs {
		k := chanAddr{m.Channel, m.Address}
		if row, ok := known[k]; !ok || row != nil || !fresh[i] || m.Direction != normalize.Inbound {
			continue
		}
		o, err := newOpening(m, assess(m), now)
		if err != nil {
			return nil, err
		}
		assessed[i] = o
		openings = append(openings, o)
		known[k] = &convRow{} // this call's next messages of it are not its first
	}
	if len(openings) == 0 {
		return nil, nil
	}
	if err := s.insertConversations(ctx, tx, openings, now); err != nil {
		return nil, err
	}
	for _, o := range openings {
		known[o.key] = nil // not opened here: its message finds it
		if o.row.opened {
			known[o.key] = &o.row
		}
	}
	return assessed, nil
}
