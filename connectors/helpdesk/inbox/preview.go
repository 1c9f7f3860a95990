package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/casino-support/gateway/normalize"
)

// The list shows each conversation's last message, and its search matches the player's name
// and that message. Both live in the inbox's ticket row rather than in a query of the gateway
// store: the list refreshes every few seconds in every agent's browser, and a row of its own
// answers that from one small table, where a search of the store's messages would scan all of
// them each time. The price is that search finds the last message only, and that the row
// keeps one line of content (cut to previewRunes) besides the player's name.

// previewRunes caps the stored line: two lines on a phone, where the page cuts it to one.
const previewRunes = 140

// maxQueryRunes caps a search: a name or a few words, never a pasted page.
const maxQueryRunes = 100

// preview is what the list shows of a conversation's last message.
type preview struct {
	Text string
	From string // who wrote it: previewPlayer, previewAgent or previewNote
	By   string // the agent's name, for replies and notes
	At   time.Time
}

const (
	previewPlayer = "player"
	previewAgent  = "agent"
	previewNote   = "note"
)

// previewOf returns what the list shows of m, received at, or false when m is not something a
// person wrote: the gateway's own notices (a metadata update, a missed SLA, a blocked bot),
// an agent's status change or assignment, and reactions and deletions, which only point at
// another message. A conversation with none of those is not shown to agents at all.
func previewOf(m normalize.Message, at time.Time) (preview, bool) {
	switch {
	case m.Author.Role == normalize.RoleSystem,
		m.Direction == normalize.Outbound && m.Kind == normalize.KindSystem,
		m.Kind == normalize.KindReaction, m.Kind == normalize.KindDeletion:
		return preview{}, false
	}
	p := preview{Text: firstLine(m.Text), From: previewPlayer, At: at}
	if m.Direction == normalize.Outbound {
		// An agent without a display name signs with nothing the player sees; colleagues
		// still see the sign-in name, as in the thread.
		p.From, p.By = previewAgent, firstNonEmpty(m.Author.DisplayName, m.Author.ExternalID)
		if m.Kind == normalize.KindNote {
			p.From = previewNote
		}
	}
	if p.Text == "" {
		p.Text = wordless(m)
	}
	return p, true
}

// wordless describes a message without text the way the thread labels it: its kind, and the
// name of its file when it has one.
func wordless(m normalize.Message) string {
	kind := string(m.Kind)
	if kind == "" || m.Kind == normalize.KindText {
		kind = "file"
	}
	if m.Location != nil {
		kind = string(normalize.KindLocation)
	}
	label := "[" + kind + "]"
	if len(m.Attachments) > 0 && m.Attachments[0].Name != "" {
		label += " " + firstLine(m.Attachments[0].Name)
	}
	return label
}

// firstLine returns the first line of s that has something to read, without control and
// bidirectional formatting characters (one left unclosed would reorder the rest of the row),
// cut to previewRunes.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(strings.Map(dropFormatting, line))
		if line != "" {
			return truncate(line, previewRunes)
		}
	}
	return ""
}

// dropFormatting keeps white space as a space and drops the other control and bidirectional
// formatting characters.
func dropFormatting(r rune) rune {
	if unicode.IsSpace(r) {
		return ' '
	}
	if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
		return -1
	}
	return r
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:n-1])) + "…"
}

// applyPreview makes p t's preview unless t already shows a later message: a retried Post
// of older messages changes nothing.
func applyPreview(t *ticket, p preview) {
	if p.At.Before(t.PreviewAt) {
		return
	}
	t.Preview, t.PreviewFrom, t.PreviewBy, t.PreviewAt = p.Text, p.From, p.By, p.At
}

// foldCase is what search compares: lower case in every script.
func foldCase(s string) string { return strings.ToLower(s) }

// searchQuery cleans what an agent typed into the search box: one line, no control
// characters, at most maxQueryRunes.
func searchQuery(raw string) string {
	q := strings.TrimSpace(strings.Join(strings.Fields(strings.Map(dropFormatting, raw)), " "))
	if utf8.RuneCountInString(q) > maxQueryRunes {
		q = string([]rune(q)[:maxQueryRunes])
	}
	return q
}

// likeContains is the LIKE pattern (with ESCAPE '\') matching text that contains q literally:
// an agent searching "100%" or "a_b" means those characters, not wildcards.
func likeContains(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(foldCase(q)) + "%"
}

// previewThreadScan is how many of a conversation's latest messages previewLatest reads to
// find one a person wrote: status changes and notices rarely come more than a few in a row.
const previewThreadScan = 20

// previewLatest makes the newest message a person wrote in conv's thread, as the gateway
// store holds it, the ticket's preview. Agent replies and notes reach the store through the
// sink, not through Post, so this is how the list learns of them.
func (i *Inbox) previewLatest(ctx context.Context, conv normalize.ConversationID) error {
	msgs, err := i.deps.Conversations.Thread(ctx, conv, previewThreadScan)
	if err != nil {
		return fmt.Errorf("read thread of %s for its preview: %w", conv, err)
	}
	for n := len(msgs) - 1; n >= 0; n-- {
		p, ok := previewOf(msgs[n], msgTime(msgs[n], i.now))
		if !ok {
			continue
		}
		if _, err := i.db.ExecContext(ctx, `UPDATE tickets SET preview = ?, preview_from = ?, preview_by = ?, preview_at = ?,
			preview_key = ? WHERE conversation_id = ? AND (preview_at IS NULL OR preview_at <= ?)`,
			p.Text, p.From, p.By, millis(p.At), foldCase(p.Text), conv, millis(p.At)); err != nil {
			return fmt.Errorf("record preview of %s: %w", conv, err)
		}
		return nil
	}
	return nil
}
