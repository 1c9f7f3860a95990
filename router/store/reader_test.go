package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// SQLite's reads are prepared once and kept, up to a bound past which a query built at run
// time runs unprepared, with the same answer.
func TestReadsArePreparedOnceUpToABound(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	count := func(query string) int {
		t.Helper()
		var n int
		require.NoError(t, st.read.QueryRowContext(ctx, query).Scan(&n))
		return n
	}
	require.Zero(t, count(`SELECT count(*) FROM lanes`))
	kept := len(st.read.stmts.m)
	require.Zero(t, count(`SELECT count(*) FROM lanes`))
	require.Equal(t, kept, len(st.read.stmts.m), "a query is prepared once")
	require.Contains(t, st.read.stmts.m, `SELECT count(*) FROM lanes`)

	for i := range maxReadStmts + 10 {
		require.Equal(t, i, count(fmt.Sprintf(`SELECT %d`, i)))
	}
	require.Len(t, st.read.stmts.m, maxReadStmts, "no more than the bound is kept")
	rows, err := st.read.QueryContext(ctx, `SELECT 7 UNION ALL SELECT 8`)
	require.NoError(t, err, "a query past the bound runs unprepared")
	var got []int
	for rows.Next() {
		var n int
		require.NoError(t, rows.Scan(&n))
		got = append(got, n)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int{7, 8}, got)
}
