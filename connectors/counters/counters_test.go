package counters

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// values gathers reg's counter name as "instance/value" → count.
func values(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["helpdesk"]+"/"+labels["outcome"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestInstancesShareOneMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "gateway_test_hooks_total", Help: "test"}
	a, err := Instance(reg, "helpdesk", "a", opts, "outcome", "ok", "refused")
	require.NoError(t, err)
	b, err := Instance(reg, "helpdesk", "b", opts, "outcome", "ok", "refused")
	require.NoError(t, err, "a second instance takes the registered metric")
	a.WithLabelValues("ok").Inc()
	b.WithLabelValues("refused").Add(2)
	require.Equal(t, map[string]float64{"a/ok": 1, "a/refused": 0, "b/ok": 0, "b/refused": 2}, values(t, reg, "gateway_test_hooks_total"),
		"every value of every instance shows, at 0 while unused")

	_, err = Instance(reg, "helpdesk", "c", prometheus.CounterOpts{Name: "gateway_test_hooks_total", Help: "test"}, "reason")
	require.Error(t, err, "the same name with other labels is refused")
}
