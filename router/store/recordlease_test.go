package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TakeRecord is a lease, in both dialects: taken when absent or lapsed, refused while
// another holds it; DropRecord gives up only the holder's own.
func TestTakeRecordLease(t *testing.T) {
	for _, name := range dialects {
		t.Run(name, func(t *testing.T) {
			clk := newStageClock()
			st := openDialect(t, name, clk)
			ctx := t.Context()
			steps := []struct {
				name, value string
				advance     time.Duration
				drop        string // DropRecord with this value before taking
				taken       bool
			}{
				{name: "absent", value: "a", taken: true},
				{name: "held by a", value: "b", taken: false},
				{name: "another's drop leaves it", value: "b", drop: "b", taken: false},
				{name: "lapsed", value: "b", advance: 31 * time.Second, taken: true},
				{name: "a's late drop leaves b's", value: "c", drop: "a", taken: false},
				{name: "dropped by b", value: "c", drop: "b", taken: true},
			}
			for _, s := range steps {
				clk.advance(s.advance)
				if s.drop != "" {
					require.NoError(t, st.DropRecord(ctx, "faqbot", "l/conv", s.drop), s.name)
				}
				taken, err := st.TakeRecord(ctx, "faqbot", "l/conv", s.value, clk.Now().Add(30*time.Second))
				require.NoError(t, err, s.name)
				require.Equal(t, s.taken, taken, s.name)
			}
		})
	}
}
