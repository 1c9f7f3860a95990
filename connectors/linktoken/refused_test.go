package linktoken_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/linktoken"
)

// Two channels of one gateway share the counter, told apart by their label; every reason
// shows at 0 from the start; only the first refusal of a reason in a minute asks for a line.
func TestRefusalsCountEveryRefusalAndLogFew(t *testing.T) {
	reg := prometheus.NewRegistry()
	chat, err := linktoken.NewRefusals(reg, "chat")
	require.NoError(t, err)
	tg, err := linktoken.NewRefusals(reg, "tg-main")
	require.NoError(t, err)

	n, log := tg.Refuse(linktoken.ReasonForged)
	require.True(t, log)
	require.Equal(t, 1, n)
	_, log = tg.Refuse(linktoken.ReasonForged)
	require.False(t, log, "the second forged link within a minute is counted, not logged")
	_, log = tg.Refuse(linktoken.ReasonExpired)
	require.True(t, log, "another reason gets its own line")
	chat.Inc(linktoken.ReasonMalformed)

	require.Equal(t, 2.0, tg.Count(linktoken.ReasonForged))
	require.Equal(t, 1.0, tg.Count(linktoken.ReasonExpired))
	require.Equal(t, 0.0, tg.Count(linktoken.ReasonMalformed))
	require.Equal(t, 1.0, chat.Count(linktoken.ReasonMalformed))
	families, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, families, 1)
	require.Equal(t, "gateway_player_token_refused_total", families[0].GetName())
	require.Len(t, families[0].GetMetric(), 6, "3 reasons × 2 channels")
}
