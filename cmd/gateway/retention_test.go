package main

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// startIn runs serve on the data in dir with cfgYAML and returns the gateway's base URL, the
// gateway it assembled, and the function that stops it (SIGTERM) and waits for it, which the
// test's cleanup calls too. Starting again in the same dir is a restart.
func startIn(t *testing.T, dir, cfgYAML string) (base string, g *gateway, stop func()) {
	t.Helper()
	cfg, err := config.Parse([]byte("listen: 127.0.0.1:0\ndata_dir: "+dir+"\n"+cfgYAML), dir, nil, catalog(connectorTypes()))
	require.NoError(t, err)
	logs := newStartedLog()
	ctx, cancel := context.WithCancel(context.Background())
	result, assembled := make(chan error, 1), make(chan *gateway, 1)
	go func() {
		result <- serve(ctx, cfg, "", io.Discard, slog.New(slog.NewJSONHandler(logs, nil)), func(g *gateway) { assembled <- g })
	}()
	var stopped bool
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-result, "serve()")
		}
	}
	t.Cleanup(stop)
	select {
	case addr := <-logs.started:
		return "http://" + addr, <-assembled, stop
	case err := <-result:
		stopped = true
		t.Fatalf("serve ended before it started: %v\n%s", err, logs)
	}
	return "", nil, nil
}

var rowID = regexp.MustCompile(`<tr class="conversation[^"]*" data-id="([^"]+)"`)

// listAll returns the inbox's list of every conversation, open and closed, as alice sees it,
// and the conversation IDs it shows.
func (b *agentBrowser) listAll() (page string, ids []string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+"/inbox/?status=all", nil)
	require.NoError(b.t, err)
	page = b.do(req)
	for _, m := range rowID.FindAllStringSubmatch(page, -1) {
		ids = append(ids, html.UnescapeString(m[1]))
	}
	return page, ids
}

var closeForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+/close)" class="inline">\s*` +
	`<input type="hidden" name="csrf" value="([^"]+)">\s*<input type="hidden" name="token" value="([^"]+)">`)

// closeConversation presses "Close" on the conversation's page, as an agent does.
func (b *agentBrowser) closeConversation(conv normalize.ConversationID) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+"/inbox/conversations/"+url.PathEscape(string(conv)), nil)
	require.NoError(b.t, err)
	page := b.do(req)
	m := closeForm.FindStringSubmatch(page)
	require.NotNil(b.t, m, "no close form in:\n%s", page)
	req, err = http.NewRequest(http.MethodPost, b.base+html.UnescapeString(m[1]),
		strings.NewReader(url.Values{"csrf": {m[2]}, "token": {m[3]}}.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.send(req)
	require.NoError(b.t, err)
	resp.Body.Close()
	require.Equal(b.t, http.StatusSeeOther, resp.StatusCode, "closing the conversation")
}

// inboxTickets reads the player names the inbox's own database keeps, as anyone with a copy
// of the data directory could.
func inboxTickets(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "inbox.db")+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT player_name FROM tickets`)
	require.NoError(t, err)
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}

// lastRetention reads gateway_retention_last_success_timestamp_seconds: 0 until a retention
// pass finished.
func lastRetention(t *testing.T, g *gateway) float64 {
	t.Helper()
	families, err := g.registry.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() == "gateway_retention_last_success_timestamp_seconds" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no gateway_retention_last_success_timestamp_seconds")
	return 0
}

// TestRetentionForgetsInboxTickets: when retention deletes a closed conversation from the
// store, the inbox forgets it too: its row (the player's name, the last message's first line)
// leaves the list and the inbox's database. The purge records what the inbox must forget in
// its own transaction, so a gateway that stops between the purge and the inbox's forgetting
// (killed, or stopped while the inbox forgets) still ends with the row gone after the next
// start.
func TestRetentionForgetsInboxTickets(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password"), bcrypt.MinCost)
	require.NoError(t, err)
	// A retention period this short makes the conversation due as soon as it is closed and
	// delivered; retention runs at start (and hourly), so the restart is what deletes it.
	cfgYAML := fmt.Sprintf(`
retention: {closed_conversations: 1ms, attachments: 0}
channels: [{name: web, type: webchat}]
helpdesks:
  - name: inbox
    type: inbox
    agents:
      - {name: alice, password_hash: %q}
default_helpdesk: inbox
`, hash)
	tests := []struct {
		name string
		// stopBetween purges the conversation while the gateway is down, as a gateway killed
		// right after the purge's commit leaves it: deleted from the store, kept by the inbox.
		stopBetween bool
	}{
		{"purged and forgotten in one pass", false},
		{"stopped between purge and forget", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			base, g, stop := startIn(t, dir, cfgYAML)
			ctx := t.Context()
			require.NoError(t, g.router.Deliver(ctx, normalize.Message{Direction: normalize.Inbound, Source: "web", ExternalID: "m1",
				Channel: "web", ChannelKind: normalize.KindWebchat, Address: "p1",
				Author: normalize.Author{Role: normalize.RolePlayer, DisplayName: "Lena Example"},
				Kind:   normalize.KindText, Text: "My card ending 4242 was charged twice"}))
			conv, err := g.store.ConversationAt(ctx, "web", "p1")
			require.NoError(t, err)
			alice := newAgentBrowser(t, base, "")
			require.Equal(t, http.StatusSeeOther, alice.signIn("alice", "alice-password"))
			require.Eventually(t, func() bool {
				_, ids := alice.listAll()
				return len(ids) == 1 && ids[0] == string(conv.ID)
			}, 10*time.Second, 10*time.Millisecond, "the inbox lists the player's conversation")
			page, _ := alice.listAll()
			require.Contains(t, page, "Lena Example")
			require.Contains(t, page, "4242")

			alice.closeConversation(conv.ID)
			require.Eventually(t, func() bool {
				st, err := g.store.Stats(ctx)
				require.NoError(t, err)
				return st.Queued[normalize.Inbound]+st.Queued[normalize.Outbound] == 0
			}, 10*time.Second, 10*time.Millisecond, "the closing is delivered")
			stop()
			time.Sleep(10 * time.Millisecond) // quiet for longer than the retention period

			if tc.stopBetween {
				st, err := store.OpenSQLite(ctx, filepath.Join(dir, "gateway.db"), store.Options{})
				require.NoError(t, err)
				p, err := st.PurgeConversations(ctx, time.Millisecond, 100)
				require.NoError(t, err)
				require.Equal(t, 1, p.Conversations)
				require.NoError(t, st.Close())
				require.Equal(t, []string{"Lena Example"}, inboxTickets(t, dir), "the inbox still holds what the store deleted")
			}

			base, g, _ = startIn(t, dir, cfgYAML)
			alice = newAgentBrowser(t, base, "")
			require.Equal(t, http.StatusSeeOther, alice.signIn("alice", "alice-password"))
			require.Eventually(t, func() bool { return lastRetention(t, g) > 0 }, 10*time.Second, 10*time.Millisecond,
				"retention's pass at start finishes")
			due, err := g.store.DueForgets(ctx, 10)
			require.NoError(t, err)
			require.Empty(t, due, "the record is dropped once the inbox forgot")
			_, err = g.store.Conversation(ctx, conv.ID)
			require.ErrorIs(t, err, connectors.ErrNotFound, "the store deleted the conversation")
			page, ids := alice.listAll()
			require.Empty(t, ids, "the inbox lists nothing of it")
			require.NotContains(t, page, "Lena Example")
			require.NotContains(t, page, "4242")
			require.Empty(t, inboxTickets(t, dir), "nor keeps anything of it")
		})
	}
}
