package inbox

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/pgtest"
)

// fixturePostgres, when set, gives each fixture's inbox a PostgreSQL database (Deps.Postgres)
// instead of its own SQLite file. No test of this package runs in parallel, so
// TestOnPostgres may set it for the tests it runs again.
var fixturePostgres func(t *testing.T) *sql.DB

// openPostgres returns a pool on a schema of t's own in the machine's PostgreSQL, closed when
// t ends (after the inbox that uses it: cleanups run in reverse).
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	return openPostgresAt(t, pgtest.DSN(t))
}

func openPostgresAt(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestOnPostgres runs the tests of what the inbox stores again with its tables in PostgreSQL:
// the same queries, in the other dialect.
func TestOnPostgres(t *testing.T) {
	for name, test := range map[string]func(*testing.T){
		"PostIdempotent":            TestPostReturnsRefAndIDsAndIsIdempotent,
		"PostAfterAnswerAndClose":   TestPostAfterAnswerAndClose,
		"ListShowsPosted":           TestListShowsPostedConversations,
		"CloseAndReopen":            TestCloseAndReopen,
		"ListSearchAndChannel":      TestListSearchAndChannel,
		"NoConversationWithoutText": TestListShowsNoConversationWithoutAMessage,
		"PreviewFollows":            TestPreviewFollowsTheConversation,
		"Reply":                     TestReplyIsDeliveredBeforeTheRedirect,
		"NoteStaysInternal":         TestNoteStaysInternal,
		"SignIn":                    TestSignIn,
		"SignOut":                   TestSignOut,
		"SessionExpires":            TestSessionExpires,
		"ForgetIsIdempotent":        TestForgetIsIdempotent,
		"SLAFollowsThePolicy":       TestSLAFollowsThePolicyAndIgnoresEvents,
		"PlayersOtherConversations": TestThreadListsThePlayersOtherConversations,
		"ListFiltersByPlayer":       TestListFiltersByPlayer,
		"PlayerIDArrivesLater":      TestPlayerIDArrivesLater,
	} {
		t.Run(name, func(t *testing.T) {
			fixturePostgres = openPostgres
			t.Cleanup(func() { fixturePostgres = nil })
			test(t)
		})
	}
}

// TestReplicasShareTheInbox: two inboxes on one PostgreSQL database, as two replicas run them,
// sign in the same agents, honour each other's sessions and list the same conversations.
func TestReplicasShareTheInbox(t *testing.T) {
	dsn := pgtest.DSN(t)
	fixturePostgres = func(t *testing.T) *sql.DB { return openPostgresAt(t, dsn) }
	t.Cleanup(func() { fixturePostgres = nil })
	a, b := newFixture(t), newFixture(t)

	m1 := playerMsg("m1", "where is my withdrawal?", t0)
	a.post(a.conv("c1", lena, m1), m1)
	onA := a.signedIn()
	require.Equal(t, []string{"c1"}, listed(onA.get("/inbox/").body), "the replica that took the message")
	// The session cookie made on A signs the agent in on B.
	onB := b.browser()
	onB.client.Jar = onA.client.Jar // cookies are the host's, whatever the port
	require.Equal(t, []string{"c1"}, listed(onB.get("/inbox/").body), "the other replica")

	require.NoError(t, b.in.markReplied(t.Context(), "c1", t0.Add(time.Minute), false))
	tk, found, err := getTicket(t.Context(), a.in.db, "c1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, t0.Add(time.Minute), tk.AnsweredAt, "what B recorded, read on A")

	require.NoError(t, SetPasswordShared(t.Context(), openPostgresAt(t, dsn), "bob", "a long enough password"))
	a.signedInAs("bob", "a long enough password")
}
