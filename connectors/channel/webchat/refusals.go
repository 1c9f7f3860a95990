package webchat

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/normalize"
)

// Why a limit refused a request: the reason label of gateway_webchat_refused_total and the
// reason key of the log line.
const (
	reasonMessages           = "messages"                 // one conversation's messages_per_minute
	reasonFrames             = "frames"                   // one conversation's other frames and hellos
	reasonConvConnections    = "conversation_connections" // one conversation's open WebSockets
	reasonNewVisitors        = "address_new_visitors"     // per_address.new_visitors_per_minute
	reasonAddressMessages    = "address_messages"         // per_address.messages_per_minute
	reasonUploadBytes        = "address_upload_bytes"     // per_address.upload_bytes_per_hour
	reasonAddressConnections = "address_connections"      // per_address.connections
	reasonConnections        = "connections"              // max_connections
)

// refusal is what the player and the operator are told about one reason. Connection-level
// refusals use the code unavailable: the page keeps its outbox, shows the notice and
// reconnects with back-off. Refusals of one message name it (rate_limited), so the page marks
// that message failed and offers to send it again.
type refusal struct {
	code    string
	message string // for the player
	log     string // for the operator
}

var refusals = map[string]refusal{
	reasonMessages: {codeRateLimited, rateLimited, "message refused: over the rate limit of its conversation"},
	reasonFrames: {codeRateLimited, rateLimited,
		"frame refused: over the frame rate of its conversation"},
	reasonConvConnections: {codeTooManyClients, "Too many chat windows are open; close some and reload.",
		"connection refused: too many open on its conversation"},
	reasonNewVisitors: {codeUnavailable, "Too many new chats are starting from your network right now; retrying automatically.",
		"new visitor refused: over per_address.new_visitors_per_minute"},
	reasonAddressMessages: {codeRateLimited, "Too many messages are coming from your network right now. Please wait a moment and send it again.",
		"message refused: over per_address.messages_per_minute"},
	reasonUploadBytes: {codeRateLimited, "Too many files were uploaded from your network in the last hour. Please try again later.",
		"upload refused: over per_address.upload_bytes_per_hour"},
	reasonAddressConnections: {codeUnavailable, "Too many chat connections from your network are open; retrying automatically.",
		"connection refused: over per_address.connections"},
	reasonConnections: {codeUnavailable, "The chat is very busy right now; retrying automatically.",
		"connection refused: over max_connections"},
}

// reconnectingTooOften answers hellos over a conversation's frame rate: a page that
// reconnects that often is looping, and backing off is what it needs.
const reconnectingTooOften = "The chat is reconnecting too often; retrying automatically."

// refuse counts a refusal and returns the error the player sees (clientID names the message
// it concerns, if any). Every refusal counts in the metric; the log says it at most once a
// minute per reason and address (or conversation), with how many refusals the line stands
// for, so that a flood does not become a flood of log lines.
func (c *Channel) refuse(reason, client string, conv normalize.Address, clientID string) *frameError {
	c.refused.WithLabelValues(reason).Inc()
	r := refusals[reason]
	key := reason
	switch reason {
	case reasonConnections:
	case reasonNewVisitors, reasonAddressMessages, reasonUploadBytes, reasonAddressConnections:
		key += " " + client
	default:
		key += " " + string(conv)
	}
	if n, ok := c.refusalLog.note(key, c.now()); ok {
		attrs := []any{"reason", reason, "refused", n}
		if client != "" {
			attrs = append(attrs, "client", client)
		}
		if conv != "" {
			attrs = append(attrs, "conv", conv)
		}
		c.log.Warn(r.log, attrs...)
	}
	if r.code == codeRateLimited {
		return &frameError{Code: r.code, Message: r.message, ClientID: clientID}
	}
	return &frameError{Code: r.code, Message: r.message}
}

// refusalEvery is how often the log repeats a refusal of one reason and address.
const refusalEvery = time.Minute

// refusalLog remembers when each refusal was last logged.
type refusalLog struct {
	mu        sync.Mutex
	m         map[string]*refusalNote
	lastSweep time.Time
}

type refusalNote struct {
	at         time.Time
	suppressed int
}

func newRefusalLog() *refusalLog { return &refusalLog{m: map[string]*refusalNote{}} }

// note records a refusal under key; it reports whether to log it now and how many refusals
// the line stands for (this one and those not logged since the last line).
func (l *refusalLog) note(key string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > refusalEvery {
		l.lastSweep = now
		for k, e := range l.m {
			if now.Sub(e.at) > refusalEvery {
				delete(l.m, k)
			}
		}
	}
	e := l.m[key]
	if e != nil && now.Sub(e.at) < refusalEvery {
		e.suppressed++
		return 0, false
	}
	n := 1
	if e != nil {
		n += e.suppressed
	}
	l.m[key] = &refusalNote{at: now}
	return n, true
}

// newRefusedCounter returns gateway_webchat_refused_total for the chat instance name,
// registered with reg (nil: counted but not exported). Every chat instance of a gateway
// shares the one counter, told apart by the channel label.
func newRefusedCounter(reg prometheus.Registerer, name normalize.InstanceName) (*prometheus.CounterVec, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_webchat_refused_total",
		Help: "Web chat requests refused by a limit, by channel instance and reason."}, []string{"channel", "reason"})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register gateway_webchat_refused_total: %w", err)
			}
			if vec, ok = are.ExistingCollector.(*prometheus.CounterVec); !ok {
				return nil, fmt.Errorf("register gateway_webchat_refused_total: taken by a %T", are.ExistingCollector)
			}
		}
	}
	curried, err := vec.CurryWith(prometheus.Labels{"channel": string(name)})
	if err != nil {
		return nil, fmt.Errorf("gateway_webchat_refused_total: %w", err)
	}
	// Every reason shows from the start, at 0, so an alert on its rate has a series to watch.
	for reason := range refusals {
		curried.WithLabelValues(reason)
	}
	return curried, nil
}
