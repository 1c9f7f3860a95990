package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// ticket is the inbox's own row for one conversation: what the list shows and sorts by. Of
// the messages it keeps only the preview of the last one (see preview.go).
type ticket struct {
	Conv              normalize.ConversationID
	Channel           string
	ChannelKind       string
	PlayerName        string
	Language          string
	VIPTier           int
	Status            normalize.Status
	StatusAt          time.Time
	CreatedAt         time.Time
	LastPlayerAt      time.Time
	FirstUnansweredAt time.Time
	AnsweredAt        time.Time
	LastAgentAt       time.Time
	UpdatedAt         time.Time
	Preview           string
	PreviewFrom       string
	PreviewBy         string
	PreviewAt         time.Time // zero until someone wrote something
	// PlayerID is the casino's ID of the player (issue 17), empty until the gateway
	// identified them; LinkedBy is what proved it (normalize.LinkedBy*).
	PlayerID string
	LinkedBy string
}

// listLimit caps the conversation list: an inbox with more open conversations than this has
// a staffing problem no page can show.
const listLimit = 500

const ticketColumns = `conversation_id, channel, channel_kind, player_name, language, vip_tier, status, status_at,
	created_at, last_player_at, first_unanswered_at, answered_at, last_agent_at, updated_at,
	preview, preview_from, preview_by, preview_at, player_id, linked_by`

type rowScanner interface{ Scan(dest ...any) error }

func scanTicket(r rowScanner) (ticket, error) {
	var t ticket
	var statusAt, created, updated int64
	var lastPlayer, firstUnanswered, answered, lastAgent, previewAt sql.NullInt64
	err := r.Scan(&t.Conv, &t.Channel, &t.ChannelKind, &t.PlayerName, &t.Language, &t.VIPTier, &t.Status, &statusAt,
		&created, &lastPlayer, &firstUnanswered, &answered, &lastAgent, &updated,
		&t.Preview, &t.PreviewFrom, &t.PreviewBy, &previewAt, &t.PlayerID, &t.LinkedBy)
	if err != nil {
		return t, err
	}
	t.StatusAt, t.CreatedAt, t.UpdatedAt = time.UnixMilli(statusAt).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	t.LastPlayerAt, t.FirstUnansweredAt = fromMillis(lastPlayer), fromMillis(firstUnanswered)
	t.AnsweredAt, t.LastAgentAt = fromMillis(answered), fromMillis(lastAgent)
	t.PreviewAt = fromMillis(previewAt)
	return t, nil
}

// getTicket returns the ticket of conv; found is false when the conversation was never posted.
func getTicket(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, conv normalize.ConversationID) (t ticket, found bool, err error) {
	t, err = scanTicket(q.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE conversation_id = ?`, conv))
	if errors.Is(err, sql.ErrNoRows) {
		return ticket{}, false, nil
	}
	if err != nil {
		return ticket{}, false, fmt.Errorf("read ticket %s: %w", conv, err)
	}
	return t, true, nil
}

// putTicket writes every column of t, inserting or replacing its row, and the search keys
// derived from it.
func putTicket(ctx context.Context, tx *txn, t ticket) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tickets (`+ticketColumns+`, player_key, preview_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET channel = excluded.channel, channel_kind = excluded.channel_kind,
		player_name = excluded.player_name, language = excluded.language, vip_tier = excluded.vip_tier,
		status = excluded.status, status_at = excluded.status_at, last_player_at = excluded.last_player_at,
		first_unanswered_at = excluded.first_unanswered_at, answered_at = excluded.answered_at,
		last_agent_at = excluded.last_agent_at, updated_at = excluded.updated_at,
		preview = excluded.preview, preview_from = excluded.preview_from, preview_by = excluded.preview_by,
		preview_at = excluded.preview_at, player_id = excluded.player_id, linked_by = excluded.linked_by, player_key = excluded.player_key, preview_key = excluded.preview_key`,
		t.Conv, t.Channel, t.ChannelKind, t.PlayerName, t.Language, t.VIPTier, t.Status, millis(t.StatusAt),
		millis(t.CreatedAt), nullMillis(t.LastPlayerAt), nullMillis(t.FirstUnansweredAt), nullMillis(t.AnsweredAt),
		nullMillis(t.LastAgentAt), millis(t.UpdatedAt), t.Preview, t.PreviewFrom, t.PreviewBy, nullMillis(t.PreviewAt),
		t.PlayerID, t.LinkedBy, foldCase(t.PlayerName), foldCase(t.Preview))
	if err != nil {
		return fmt.Errorf("write ticket %s: %w", t.Conv, err)
	}
	return nil
}

func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

// statusFilter is the list's choice of conversations.
type statusFilter string

const (
	filterOpen   statusFilter = "open"
	filterClosed statusFilter = "closed"
	filterAll    statusFilter = "all"
)

// parseFilter reads the status query parameter; anything unknown means open, the default view.
func parseFilter(s string) statusFilter {
	switch f := statusFilter(s); f {
	case filterClosed, filterAll:
		return f
	}
	return filterOpen
}

// listQuery is what the list shows: a status, optionally one channel instance, optionally
// one player's conversations (by the casino's player ID, exactly), and optionally only
// conversations whose player's name or last message contains Search.
type listQuery struct {
	Status  statusFilter
	Channel string
	Player  string // cleaned by playerQuery
	Search  string // cleaned by searchQuery
}

// listTickets returns the tickets q asks for with the newest activity first. A conversation
// nobody wrote anything in yet (see previewOf) is never listed: a script opening empty
// conversations by the thousand must not bury the players who wait.
func (i *Inbox) listTickets(ctx context.Context, q listQuery) ([]ticket, error) {
	pattern := likeContains(q.Search)
	rows, err := i.db.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE preview_at IS NOT NULL AND (? = 'all' OR status = ?) AND (? = '' OR channel = ?)
		AND (? = '' OR player_id = ?)
		AND (? = '' OR player_key LIKE ? ESCAPE '\' OR preview_key LIKE ? ESCAPE '\')
		ORDER BY updated_at DESC, conversation_id LIMIT ?`,
		q.Status, q.Status, q.Channel, q.Channel, q.Player, q.Player, q.Search, pattern, pattern, listLimit)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	var out []ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// channelOption is a channel instance the list can be narrowed to.
type channelOption struct {
	Name string
	Kind string
}

// listChannels returns the channel instances of the listed conversations, by name.
func (i *Inbox) listChannels(ctx context.Context) ([]channelOption, error) {
	rows, err := i.db.QueryContext(ctx, `SELECT channel, MAX(channel_kind) FROM tickets WHERE preview_at IS NOT NULL
		GROUP BY channel ORDER BY channel`)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	var out []channelOption
	for rows.Next() {
		var c channelOption
		if err := rows.Scan(&c.Name, &c.Kind); err != nil {
			return nil, fmt.Errorf("list channels: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// markReplied records an agent's reply at: nothing waits any more. A note only counts as
// activity, since the player still has no answer. Either becomes the list's preview.
func (i *Inbox) markReplied(ctx context.Context, conv normalize.ConversationID, at time.Time, note bool) error {
	var err error
	if note {
		_, err = i.db.ExecContext(ctx, `UPDATE tickets SET updated_at = GREATEST(updated_at, ?) WHERE conversation_id = ?`, millis(at), conv)
	} else {
		_, err = i.db.ExecContext(ctx, `UPDATE tickets SET last_agent_at = ?, answered_at = ?, first_unanswered_at = NULL,
			updated_at = GREATEST(updated_at, ?) WHERE conversation_id = ?`, millis(at), millis(at), millis(at), conv)
	}
	if err != nil {
		return fmt.Errorf("record reply in %s: %w", conv, err)
	}
	return i.previewLatest(ctx, conv)
}

// setTicketStatus records an agent closing or reopening conv. Closing also stops the SLA
// clock: the agent decided nothing more needs an answer.
func (i *Inbox) setTicketStatus(ctx context.Context, conv normalize.ConversationID, status normalize.Status, at time.Time) error {
	var err error
	if status == normalize.StatusClosed {
		_, err = i.db.ExecContext(ctx, `UPDATE tickets SET status = ?, status_at = ?, first_unanswered_at = NULL, answered_at = ?,
			updated_at = GREATEST(updated_at, ?) WHERE conversation_id = ?`, status, millis(at), millis(at), millis(at), conv)
	} else {
		_, err = i.db.ExecContext(ctx, `UPDATE tickets SET status = ?, status_at = ?, updated_at = GREATEST(updated_at, ?)
			WHERE conversation_id = ?`, status, millis(at), millis(at), conv)
	}
	if err != nil {
		return fmt.Errorf("set status of %s: %w", conv, err)
	}
	return nil
}
