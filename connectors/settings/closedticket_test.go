package settings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/settings"
)

func TestClosedTicket(t *testing.T) {
	tests := []struct {
		value   settings.ClosedTicket
		reopens bool
		valid   bool
	}{
		{"", false, true}, // the default: follow_up
		{settings.ClosedFollowUp, false, true},
		{settings.ClosedReopen, true, true},
		{"Reopen", false, false},
		{"followup", false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.value), func(t *testing.T) {
			require.Equal(t, tt.reopens, tt.value.Reopens())
			var p settings.Problems
			tt.value.Check(&p, "closed_ticket")
			if tt.valid {
				require.Empty(t, p.List())
				return
			}
			require.Len(t, p.List(), 1)
			require.Equal(t, "closed_ticket", p.List()[0].Key)
		})
	}
}
