package parse

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the parser's output")

// TestGolden parses every testdata/*.eml and compares every field of the result with the
// .golden file beside it. Run with -update to rewrite them, then read the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			store := newStore(256<<10, 0)
			m, err := Parse(context.Background(), strings.NewReader(string(raw)), Options{MaxBytes: 4 << 20, Store: store.Put})
			require.NoError(t, err)
			for _, a := range m.Attachments {
				content, ok := store.content(a.BlobRef)
				require.True(t, ok, "attachment %q not in the store", a.Name)
				require.EqualValues(t, len(content), a.Size)
			}
			got := render(m)
			golden := strings.TrimSuffix(file, ".eml") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run go test -run TestGolden -update")
			require.Equal(t, string(want), got)
		})
	}
}

// render shows every field of m, one per line, the texts last under their own headings.
func render(m *Message) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-11s %s\n", k+":", v) }
	line("MessageID", m.MessageID)
	line("InReplyTo", strings.Join(m.InReplyTo, " "))
	line("References", strings.Join(m.References, " "))
	line("From", addr(m.From))
	line("ReplyTo", addrs(m.ReplyTo))
	line("To", addrs(m.To))
	line("Cc", addrs(m.Cc))
	line("Subject", m.Subject)
	date := ""
	if !m.Date.IsZero() {
		date = m.Date.Format(time.RFC3339)
	}
	line("Date", date)
	line("Auto", string(m.Auto))
	if m.Bounce == nil {
		line("Bounce", "")
	} else {
		line("Bounce", "")
		fmt.Fprintf(&b, "  OriginalMessageID: %s\n  Recipients: %s\n  Permanent: %t\n  Status: %s\n  Diagnostic: %s\n",
			m.Bounce.OriginalMessageID, strings.Join(m.Bounce.Recipients, ", "), m.Bounce.Permanent, m.Bounce.Status, m.Bounce.Diagnostic)
	}
	line("Attachments", fmt.Sprint(len(m.Attachments)))
	for _, a := range m.Attachments {
		fmt.Fprintf(&b, "  - %q %s %d bytes sha256 %s", a.Name, a.MediaType, a.Size, a.SHA256)
		if a.ContentID != "" {
			fmt.Fprintf(&b, " cid %s", a.ContentID)
		}
		b.WriteString("\n")
	}
	line("Skipped", fmt.Sprint(len(m.Skipped)))
	for _, s := range m.Skipped {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	for _, sec := range []struct{ name, text string }{{"Text", m.Text}, {"FullText", m.FullText}, {"HTML", m.HTML}} {
		fmt.Fprintf(&b, "=== %s\n%s\n", sec.name, sec.text)
	}
	return b.String()
}

func addr(a Address) string {
	if a == (Address{}) {
		return ""
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Email)
}

func addrs(as []Address) string {
	var out []string
	for _, a := range as {
		out = append(out, addr(a))
	}
	return strings.Join(out, ", ")
}
