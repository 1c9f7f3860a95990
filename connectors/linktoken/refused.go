// Package linktoken counts and logs the player tokens channels refuse: the web chat's signed
// player token and Telegram's signed /start deep link, the two ways a casino's site proves
// who a player is so that their conversations on different channels are linked (issue 17).
// A refused token never links; the operator sees each refusal in
// gateway_player_token_refused_total and a log line, at most one a minute per channel and
// reason, since forged tokens cost an attacker nothing to send.
package linktoken

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/casino-support/gateway/connectors/ratelog"
	"github.com/casino-support/gateway/normalize"
)

// Why a token was refused: the reason label of gateway_player_token_refused_total.
const (
	ReasonForged    = "forged"    // the signature does not match (wrong secret, altered token)
	ReasonExpired   = "expired"   // signed, but past its expiry
	ReasonMalformed = "malformed" // not a token of the format: too long, bad characters, fields missing
)

// Reasons are every reason, in a stable order.
var Reasons = []string{ReasonForged, ReasonExpired, ReasonMalformed}

// logEvery is how often one channel logs one reason.
const logEvery = time.Minute

// Refusals counts one channel's refused tokens and keeps their log lines few.
type Refusals struct {
	counter *prometheus.CounterVec // curried with the channel
	logs    *ratelog.Limiter
}

// NewRefusals returns the refusals of channel, counted in reg (nil: counted, not exported).
// Channels of one gateway share the one counter, told apart by the channel label.
func NewRefusals(reg prometheus.Registerer, channel normalize.InstanceName) (*Refusals, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_player_token_refused_total",
		Help: "Player tokens (web chat player token, Telegram deep link) refused, so not linking the player, by channel instance and reason (forged, expired, malformed)."},
		[]string{"channel", "reason"})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register gateway_player_token_refused_total: %w", err)
			}
			if vec, ok = are.ExistingCollector.(*prometheus.CounterVec); !ok {
				return nil, fmt.Errorf("register gateway_player_token_refused_total: taken by a %T", are.ExistingCollector)
			}
		}
	}
	curried, err := vec.CurryWith(prometheus.Labels{"channel": string(channel)})
	if err != nil {
		return nil, fmt.Errorf("gateway_player_token_refused_total: %w", err)
	}
	// Every reason shows from the start, at 0, so an alert on its rate has a series to watch.
	for _, r := range Reasons {
		curried.WithLabelValues(r)
	}
	return &Refusals{counter: curried, logs: ratelog.New(logEvery, nil)}, nil
}

// Refuse counts a token refused for reason and reports whether to log it now, and how many
// refusals the line stands for: one line per reason and minute. The caller logs with its
// own logger, never the token itself (a valid-looking one is a bearer credential).
func (r *Refusals) Refuse(reason string) (n int, log bool) {
	r.counter.WithLabelValues(reason).Inc()
	return r.logs.Allow(reason)
}

// Inc counts a token refused for reason, for a channel that logs refusals its own way.
func (r *Refusals) Inc(reason string) { r.counter.WithLabelValues(reason).Inc() }

// Count returns how many tokens were refused for reason; for tests.
func (r *Refusals) Count(reason string) float64 {
	var m dto.Metric
	_ = r.counter.WithLabelValues(reason).Write(&m)
	return m.GetCounter().GetValue()
}
