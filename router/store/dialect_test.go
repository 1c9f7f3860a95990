package store

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

type chunk struct {
	source string
	args   []any
}

func chunksOf(t *testing.T, each func(fn func(source string, args []any) error) error) []chunk {
	t.Helper()
	var got []chunk
	require.NoError(t, each(func(source string, args []any) error {
		got = append(got, chunk{source, args})
		return nil
	}))
	return got
}

// Rows go to a statement a chunk at a time on SQLite, and all at once as one array per column on
// PostgreSQL, where each statement costs the server a wake-up and a round trip (issue 16).
func TestEachChunkBindsRowsOrArrays(t *testing.T) {
	types := []string{"TEXT", "BIGINT"}
	rows := []any{"m1", int64(1), "m2", int64(2), []byte("m3"), int64(3)}
	for _, tc := range []struct {
		name string
		d    *dialect
		want []chunk
		one  string // a single row's source
	}{
		{"sqlite", sqliteDialect(), []chunk{
			{"VALUES (?, ?), (?, ?)", rows[:4]},
			{"VALUES (?, ?)", rows[4:]},
		}, "VALUES (?, ?)"},
		{"postgres", postgresDialect(), []chunk{
			{"SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS BIGINT[])) AS v(column1, column2)",
				[]any{[]string{"m1", "m2", "m3"}, []int64{1, 2, 3}}},
		}, "VALUES (CAST(? AS TEXT), CAST(? AS BIGINT))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chunksOf(t, func(fn func(string, []any) error) error { return tc.d.eachChunk(types, rows, 64, fn) })
			require.Equal(t, tc.want, got)
			require.Empty(t, chunksOf(t, func(fn func(string, []any) error) error { return tc.d.eachChunk(types, nil, 64, fn) }))
			one := chunksOf(t, func(fn func(string, []any) error) error { return tc.d.eachChunk(types, rows[:2], 64, fn) })
			require.Equal(t, []chunk{{tc.one, rows[:2]}}, one, "one row binds its values")
		})
	}
}

func TestEachChunkRefusesAValueItsColumnCannotTake(t *testing.T) {
	d := postgresDialect()
	err := d.eachChunk([]string{"BIGINT"}, []any{int64(1), "2"}, 64, func(string, []any) error { return nil })
	require.ErrorContains(t, err, "string in a BIGINT column")
	err = d.eachChunk([]string{"TEXT"}, []any{"a", 1.5}, 64, func(string, []any) error { return nil })
	require.ErrorContains(t, err, "float64 in a TEXT column")
	err = d.eachChunk([]string{"TEXT"}, []any{"a", normalize.MessageID("m")}, 64, func(string, []any) error { return nil })
	require.ErrorContains(t, err, "normalize.MessageID in a TEXT column", "callers pass plain strings")
}

// A join with a growing table takes VALUES on both databases (PostgreSQL planned the arrays as a
// hash join over the whole table), a chunk of up to most rows padded to a power of two with a
// row that matches nothing: one statement per chunk, one prepared statement per power of two.
func TestEachValuesPadsAChunkToAPowerOfTwo(t *testing.T) {
	pad := []any{int64(0), ""}
	row := func(i int) []any { return []any{int64(i), "t"} }
	numbered := func(from, to int) []any {
		var out []any
		for i := from; i <= to; i++ {
			out = append(out, row(i)...)
		}
		return out
	}
	padded := func(rows []any, n int) []any {
		for range n {
			rows = append(rows, pad...)
		}
		return rows
	}
	values := func(ph string, n int) string { return "VALUES " + rowsOf(n, ph) }
	const sq, pg = "(?, ?)", "(CAST(? AS BIGINT), CAST(? AS TEXT))"
	for _, tc := range []struct {
		name string
		d    *dialect
		rows []any
		want []chunk
	}{
		{"one row", sqliteDialect(), numbered(1, 1), []chunk{{values(sq, 1), numbered(1, 1)}}},
		{"a power of two", sqliteDialect(), numbered(1, 4), []chunk{{values(sq, 4), numbered(1, 4)}}},
		{"padded", sqliteDialect(), numbered(1, 5), []chunk{{values(sq, 8), padded(numbered(1, 5), 3)}}},
		{"typed on postgres", postgresDialect(), numbered(1, 3), []chunk{{values(pg, 4), padded(numbered(1, 3), 1)}}},
		{"over most", sqliteDialect(), numbered(1, 11), []chunk{
			{values(sq, 8), numbered(1, 8)},
			{values(sq, 4), padded(numbered(9, 11), 1)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chunksOf(t, func(fn func(string, []any) error) error {
				return tc.d.eachValues([]string{"BIGINT", "TEXT"}, tc.rows, 8, pad, fn)
			})
			require.Equal(t, tc.want, got)
		})
	}
}
