package adminapi

import (
	"net/http"

	"github.com/casino-support/gateway/router/health"
)

// Health is where the admin API reads the connectors' health.
type Health interface {
	Statuses() []health.Status
}

// healthAnswer is GET /api/v1/health: every connector, whether it works and, when it does
// not, why. Ready is false when any is not; the gateway itself serves all the same.
type healthAnswer struct {
	Ready      bool            `json:"ready"`
	Connectors []health.Status `json:"connectors"`
}

// WithHealth serves GET /api/v1/health from h and returns a.
func (a *API) WithHealth(h Health) *API {
	a.mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, r *http.Request) {
		ans := healthAnswer{Ready: true, Connectors: h.Statuses()}
		for _, s := range ans.Connectors {
			ans.Ready = ans.Ready && s.Ready
		}
		writeJSON(w, http.StatusOK, ans)
	})
	return a
}
