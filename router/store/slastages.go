package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// The SLA's stages (issue 17): a response clock's near-breach and breach, an agent's answer
// that stops it, and the escalation clock of a case flagged complex. The policy (targets,
// business hours, what a stage does) is the router's: the store records the times it is
// given and marks each stage once, fenced like MarkSLABreaches, whatever the replicas.

// TagComplex marks a conversation flagged as a complex case.
const TagComplex = "complex"

// Answered is an agent's answer that stopped a running response clock, for the SLA's metrics.
type Answered struct {
	// Next is true when the clock was a next-response one: an agent had answered before.
	Next        bool
	ChannelKind normalize.ChannelKind
	VIPTier     int
	// AwaitingSince is when the clock started, At when the answer came.
	AwaitingSince, At time.Time
	// Breached is true when the answer came after the target ran out.
	Breached bool
}

// SLAStage names a point of a response clock the router marks.
type SLAStage string

const (
	StageNearBreach SLAStage = "near_breach"
	StageBreach     SLAStage = "breach"
)

// SLAMark is what marking a stage does to the conversation besides recording it: the store
// only ever raises the priority and adds tags, as intake does.
type SLAMark struct {
	Priority normalize.Priority // at least this; "" leaves the priority
	Tags     []string           // added
	// Records, when set, gives the records to write with each conversation marked, in the
	// marking's transaction: the escalation webhook's queued call, which a crash between a
	// separate mark and queueing would lose (nothing lost, issue 17).
	Records StageRecords
}

// StageRecords gives the connectors' records to write with the mark of c, made at at; an
// error rolls the whole marking back, so the stage stays due and is marked again later.
type StageRecords func(c normalize.Conversation, at time.Time) ([]StageRecord, error)

// StageRecord is a connectors' record (connectors.Records) written with a stage's mark. It is
// written only when neither Key nor Unless (when set) is present: a record queued or done
// under the same idempotency key is not queued again.
type StageRecord struct {
	Instance   normalize.InstanceName
	Key, Value string
	Unless     string
	Expires    time.Time
}

// ComplexMark is what the escalation of a complex case does: it goes to Group (its "group:"
// tag replaces the others, which is how the helpdesks learn of a group), gets at least
// Priority and the tags.
type ComplexMark struct {
	Group    string
	Priority normalize.Priority
	Tags     []string
	// Records is as SLAMark's.
	Records StageRecords
}

// clockTimes are a response clock's near-breach and due times as column values, started at
// now; next is true for a next-response clock.
func (a Assessment) clockTimes(now int64, next bool, vipTier int) (warn, due sql.NullInt64) {
	if a.Clock == nil {
		return sql.NullInt64{}, dueAt(now, a.target(vipTier))
	}
	w, d := a.Clock(fromMillis(now), next, vipTier)
	return millisOrNull(w), millisOrNull(d)
}

// timeOrZero converts a time column; NULL is the zero time.
func timeOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}

func millisOrNull(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// startClock starts id's response clock at now: a first-response one until an agent has
// answered the conversation, a next-response one after.
func startClock(ctx context.Context, tx *wtx, id normalize.ConversationID, a Assessment, vipTier int, now int64) (awaiting, due, breached sql.NullInt64, err error) {
	var answered sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT first_answered_at FROM conversations WHERE id = ?`, id).Scan(&answered); err != nil {
		return awaiting, due, breached, fmt.Errorf("store: start the SLA clock of %s: %w", id, err)
	}
	warn, due := a.clockTimes(now, answered.Valid, vipTier)
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET awaiting_since = ?, sla_due_at = ?, sla_breached_at = NULL,
		sla_warn_at = ?, sla_warned_at = NULL WHERE id = ?`, now, due, warn, id); err != nil {
		return awaiting, due, breached, fmt.Errorf("store: start the SLA clock of %s: %w", id, err)
	}
	return sql.NullInt64{Int64: now, Valid: true}, due, sql.NullInt64{}, nil
}

// currentSLA reads id's response clock, with its near-breach time and kind, as an Update
// carries it. Updates are rare (a language, identity or priority changed): the read costs
// less than carrying the columns through every intake.
func currentSLA(ctx context.Context, tx *wtx, id normalize.ConversationID) (normalize.SLA, error) {
	var awaiting, due, breached, warn, warned, answered sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT awaiting_since, sla_due_at, sla_breached_at, sla_warn_at, sla_warned_at, first_answered_at
		FROM conversations WHERE id = ?`, id).Scan(&awaiting, &due, &breached, &warn, &warned, &answered); err != nil {
		return normalize.SLA{}, fmt.Errorf("store: read the SLA clock of %s: %w", id, err)
	}
	return clockOf(awaiting, due, breached, warn, warned, answered), nil
}

// clockOf converts a response clock's columns.
func clockOf(awaiting, due, breached, warn, warned, answered sql.NullInt64) normalize.SLA {
	c := slaOf(awaiting, due, breached)
	if awaiting.Valid {
		c.NearBreachAt, c.WarnedAt, c.Next = timeOrZero(warn), timeOrZero(warned), answered.Valid
	}
	return c
}

// flagComplex starts id's escalation clock unless one runs or ran since the case was last
// closed.
func flagComplex(ctx context.Context, tx *wtx, id normalize.ConversationID, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET complex_at = ? WHERE id = ? AND complex_at IS NULL`, now, id); err != nil {
		return fmt.Errorf("store: flag %s complex: %w", id, err)
	}
	return nil
}

// flagComplexByAgent is an agent's flag from the helpdesk: the clock, and the tag the
// routing rules' flag comes with.
func flagComplexByAgent(ctx context.Context, tx *wtx, id normalize.ConversationID, now int64) error {
	var tags string
	if err := tx.QueryRowContext(ctx, `SELECT tags FROM conversations WHERE id = ?`, id).Scan(&tags); err != nil {
		return fmt.Errorf("store: flag %s complex: %w", id, err)
	}
	var list []string
	if err := decodeStored([]byte(tags), &list); err != nil {
		return fmt.Errorf("store: decode tags of %s: %w", id, err)
	}
	if !slices.Contains(list, TagComplex) {
		b, _ := json.Marshal(append(list, TagComplex))
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET tags = ? WHERE id = ?`, b, id); err != nil {
			return fmt.Errorf("store: flag %s complex: %w", id, err)
		}
	}
	return flagComplex(ctx, tx, id, now)
}

// closeComplex ends id's complex case: a case closed is resolved, and a later flag starts a
// new clock.
func closeComplex(ctx context.Context, tx *wtx, id normalize.ConversationID) error {
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET complex_at = NULL, complex_escalated_at = NULL WHERE id = ? AND complex_at IS NOT NULL`, id); err != nil {
		return fmt.Errorf("store: end the complex case of %s: %w", id, err)
	}
	return nil
}

// stopClock stops conv's response clock: an agent answered (answered) or closed it. An
// answer is remembered, so that the player's next message starts a next-response clock; the
// answer that stopped a running clock is returned for the metrics.
func stopClock(ctx context.Context, tx *wtx, conv normalize.ConversationID, answered bool, now int64) (*Answered, error) {
	var awaiting, breached, first sql.NullInt64
	var kind normalize.ChannelKind
	var player string
	// A no-op update first: it takes the row's lock, so the clock read is the one stopped. Its
	// condition leaves the row alone (no write) when there is nothing to stop or remember,
	// which is most agents' messages.
	err := tx.QueryRowContext(ctx, `UPDATE conversations SET awaiting_since = awaiting_since
		WHERE id = ? AND (awaiting_since IS NOT NULL OR first_answered_at IS NULL)
		RETURNING awaiting_since, sla_breached_at, first_answered_at, channel_kind, player`, conv).Scan(&awaiting, &breached, &first, &kind, &player)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: stop the SLA clock of %s: %w", conv, err)
	}
	if !awaiting.Valid && (!answered || first.Valid) {
		return nil, nil
	}
	firstAt := first
	if answered && !first.Valid {
		firstAt = sql.NullInt64{Int64: now, Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET awaiting_since = NULL, sla_due_at = NULL, sla_breached_at = NULL,
		sla_warn_at = NULL, sla_warned_at = NULL, first_answered_at = ? WHERE id = ?`, firstAt, conv); err != nil {
		return nil, fmt.Errorf("store: stop the SLA clock of %s: %w", conv, err)
	}
	if !answered || !awaiting.Valid {
		return nil, nil
	}
	var p normalize.Author
	if err := decodeStored([]byte(player), &p); err != nil {
		return nil, fmt.Errorf("store: decode player of %s: %w", conv, err)
	}
	return &Answered{Next: first.Valid, ChannelKind: kind, VIPTier: p.VIPTier, AwaitingSince: fromMillis(awaiting.Int64),
		At: fromMillis(now), Breached: breached.Valid}, nil
}

// MarkSLA finds up to limit conversations whose response clock reached stage, marks them,
// applies mark and enqueues an Update for each one's helpdesk, in one transaction; it returns
// them as marked. Replicas may call it concurrently: each stage of each clock run is marked,
// and reported, once. A clock that breached unnoticed is not marked near its breach after.
func (s *Store) MarkSLA(ctx context.Context, stage SLAStage, mark SLAMark, limit int) ([]normalize.Conversation, error) {
	var find func(context.Context, *wtx, int64) (*sql.Rows, error)
	var fence string
	switch stage {
	case StageNearBreach:
		find = func(ctx context.Context, tx *wtx, now int64) (*sql.Rows, error) {
			return tx.QueryContext(ctx, `SELECT id FROM conversations WHERE sla_warn_at <= ? AND sla_warned_at IS NULL AND sla_breached_at IS NULL
				AND (sla_due_at IS NULL OR sla_due_at > ?) ORDER BY sla_warn_at LIMIT ?`, now, now, limit)
		}
		// Another replica may have marked it since the select, or an agent answered (PostgreSQL
		// re-checks the condition once that transaction commits): only one reports it.
		fence = `UPDATE conversations SET sla_warned_at = ? WHERE id = ? AND sla_warned_at IS NULL AND sla_warn_at <= ?`
	case StageBreach:
		find = func(ctx context.Context, tx *wtx, now int64) (*sql.Rows, error) {
			return tx.QueryContext(ctx, `SELECT id FROM conversations WHERE sla_due_at <= ? AND sla_breached_at IS NULL ORDER BY sla_due_at LIMIT ?`, now, limit)
		}
		// A near-breach point never marked (the breach came first) is dropped, or it would stay
		// due for ever.
		fence = `UPDATE conversations SET sla_breached_at = ?, sla_warn_at = CASE WHEN sla_warned_at IS NULL THEN NULL ELSE sla_warn_at END
			WHERE id = ? AND sla_breached_at IS NULL AND sla_due_at <= ?`
	default:
		return nil, fmt.Errorf("store: unknown SLA stage %q", stage)
	}
	return s.markStage(ctx, find, fence, func(c *normalize.Conversation, now int64) normalize.Message {
		changed := []normalize.Field{normalize.FieldSLA}
		changed = append(changed, raise(c, mark.Priority, mark.Tags, "")...)
		return stageMessage(*c, string(stage), changed, now)
	}, mark.Records)
}

// MarkComplexEscalations finds up to limit conversations flagged complex at flaggedBefore or
// earlier, not closed and not escalated yet, escalates them as mark says and enqueues an
// Update for each one's helpdesk, in one transaction, once across replicas; it returns them.
func (s *Store) MarkComplexEscalations(ctx context.Context, flaggedBefore time.Time, mark ComplexMark, limit int) ([]normalize.Conversation, error) {
	before := flaggedBefore.UnixMilli()
	return s.markStage(ctx, func(ctx context.Context, tx *wtx, _ int64) (*sql.Rows, error) {
		return tx.QueryContext(ctx, `SELECT id FROM conversations WHERE complex_at <= ? AND complex_escalated_at IS NULL AND status <> ?
			ORDER BY complex_at LIMIT ?`, before, normalize.StatusClosed, limit)
	}, `UPDATE conversations SET complex_escalated_at = ? WHERE id = ? AND complex_escalated_at IS NULL AND complex_at <= ?`,
		func(c *normalize.Conversation, now int64) normalize.Message {
			changed := raise(c, mark.Priority, mark.Tags, mark.Group)
			return stageMessage(*c, "complex", changed, now)
		}, mark.Records, before)
}

// NextComplexFlag returns when the earliest running escalation clock of a complex case
// started, or the zero time when none runs.
func (s *Store) NextComplexFlag(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(complex_at) FROM conversations WHERE complex_at IS NOT NULL AND complex_escalated_at IS NULL AND status <> ?`,
		normalize.StatusClosed).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("store: next complex case: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return fromMillis(at.Int64), nil
}

// markStage is the fenced marking MarkSLA and MarkComplexEscalations share: find selects the
// candidates; fence, given (now, id, fenceArg or now), marks one and affects no row when
// another replica did first; apply changes the conversation read after the mark and returns
// the Update to enqueue; records, when set, gives the records written with each mark.
func (s *Store) markStage(ctx context.Context, find func(context.Context, *wtx, int64) (*sql.Rows, error), fence string,
	apply func(c *normalize.Conversation, now int64) normalize.Message, records StageRecords, fenceArg ...int64) ([]normalize.Conversation, error) {
	var out []normalize.Conversation
	err := s.writer.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = out[:0]
		now := s.now().UnixMilli()
		arg := now
		if len(fenceArg) > 0 {
			arg = fenceArg[0]
		}
		rows, err := find(ctx, tx, now)
		if err != nil {
			return fmt.Errorf("store: find SLA stages: %w", err)
		}
		var ids []normalize.ConversationID
		for rows.Next() {
			var id normalize.ConversationID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: find SLA stages: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: find SLA stages: %w", err)
		}
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, fence, now, id, arg)
			if err != nil {
				return fmt.Errorf("store: mark %s: %w", id, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("store: mark %s: %w", id, err)
			} else if n == 0 {
				continue
			}
			c, err := getConversation(ctx, tx, id)
			if err != nil {
				return err
			}
			before := c
			before.Tags = slices.Clone(c.Tags)
			msg := apply(&c, now)
			if c.Priority != before.Priority || !slices.Equal(c.Tags, before.Tags) {
				tags, _ := json.Marshal(c.Tags)
				if _, err := tx.ExecContext(ctx, `UPDATE conversations SET priority = ?, tags = ? WHERE id = ?`, c.Priority, tags, id); err != nil {
					return fmt.Errorf("store: raise %s: %w", id, err)
				}
			}
			if err := enqueue(ctx, tx, msg, now); err != nil {
				return err
			}
			if err := putStageRecords(ctx, tx, records, c, now); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putStageRecords writes the records of c's mark made at now, each unless it or its Unless
// record is present.
func putStageRecords(ctx context.Context, tx *wtx, records StageRecords, c normalize.Conversation, now int64) error {
	if records == nil {
		return nil
	}
	recs, err := records(c, fromMillis(now))
	if err != nil {
		return fmt.Errorf("store: records of the mark of %s: %w", c.ID, err)
	}
	for _, r := range recs {
		unless := r.Unless
		if unless == "" {
			unless = r.Key
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO records (instance, key, value, expires_at, updated_at)
			SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM records WHERE instance = ? AND key = ? AND expires_at > ?)
			ON CONFLICT (instance, key) DO NOTHING`,
			r.Instance, r.Key, r.Value, millis(r.Expires), now, r.Instance, unless, now); err != nil {
			return fmt.Errorf("store: put record %s of %s with the mark of %s: %w", r.Key, r.Instance, c.ID, err)
		}
	}
	return nil
}

// raise applies a stage to c: at least priority, the tags added, and when group is set its
// "group:" tag in place of the others. It returns the fields that changed.
func raise(c *normalize.Conversation, priority normalize.Priority, tags []string, group string) []normalize.Field {
	var changed []normalize.Field
	if priority != "" && priority.Rank() > c.Priority.Rank() {
		c.Priority = priority
		changed = append(changed, normalize.FieldPriority)
	}
	before := slices.Clone(c.Tags)
	if group != "" {
		c.Tags = slices.DeleteFunc(c.Tags, func(t string) bool { return strings.HasPrefix(t, "group:") })
		tags = append(slices.Clone(tags), "group:"+group)
	}
	for _, t := range tags {
		if !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	}
	if !slices.Equal(before, c.Tags) {
		changed = append(changed, normalize.FieldTags)
	}
	return changed
}

// stageMessage is the Update that reports a stage of c; its dedup key names the stage and
// the clock run (or the complex flag), so that the same stage is one message.
func stageMessage(c normalize.Conversation, stage string, changed []normalize.Field, now int64) normalize.Message {
	u := &normalize.Update{Changed: changed, Language: c.Language, PlayerID: c.Player.PlayerID,
		VIPTier: c.Player.VIPTier, Priority: c.Priority, SLA: c.SLA}
	key := fmt.Sprintf("sla-%s-%d", c.ID, c.SLA.AwaitingSince.UnixMilli())
	switch stage {
	case string(StageBreach):
		// A breach keeps the key it had before the stages existed.
	case string(StageNearBreach):
		key = fmt.Sprintf("sla-%s-%s-%d", stage, c.ID, c.SLA.AwaitingSince.UnixMilli())
	default:
		key = fmt.Sprintf("%s-%s-%d", stage, c.ID, now)
	}
	return normalize.Message{
		ID: normalize.NewMessageID(), Direction: normalize.Inbound,
		Source: c.Channel, ExternalID: normalize.ExternalID(key),
		Conversation: c.ID, Channel: c.Channel, ChannelKind: c.ChannelKind, Address: c.Address,
		Author: normalize.Author{Role: normalize.RoleSystem},
		Kind:   normalize.KindSystem, Text: describeStage(stage, c, u), Update: u, SentAt: fromMillis(now),
	}
}

// describeStage says a stage in words, for helpdesks that can only post it.
func describeStage(stage string, c normalize.Conversation, u *normalize.Update) string {
	response := "first-response"
	if c.SLA.Next {
		response = "next-response"
	}
	var parts []string
	switch stage {
	case string(StageNearBreach):
		parts = append(parts, fmt.Sprintf("%s target near: the player has waited since %s, the answer is due at %s", response,
			c.SLA.AwaitingSince.UTC().Format(time.RFC3339), c.SLA.DueAt.UTC().Format(time.RFC3339)))
	case string(StageBreach):
		parts = append(parts, fmt.Sprintf("%s target missed: the player has waited since %s, the answer was due at %s", response,
			c.SLA.AwaitingSince.UTC().Format(time.RFC3339), c.SLA.DueAt.UTC().Format(time.RFC3339)))
	default:
		parts = append(parts, "complex case not resolved in time, escalated")
	}
	if u.Has(normalize.FieldPriority) {
		parts = append(parts, "priority "+string(u.Priority))
	}
	if u.Has(normalize.FieldTags) {
		parts = append(parts, "tags "+strings.Join(c.Tags, ", "))
	}
	return "Conversation updated: " + strings.Join(parts, "; ") + "."
}
