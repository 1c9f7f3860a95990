package email

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/normalize"
)

// The reasons of gateway_email_dropped_total: why a mail opened no ticket.
const (
	dropOwn    = "own_mail"
	dropAuto   = "auto_reply"
	dropBulk   = "bulk"
	dropBounce = "bounce"
)

// The kinds of gateway_email_oversized_total.
const (
	// oversizedRefused is a mail the intake answered 552: the MTA bounces it to the player.
	oversizedRefused = "mail_refused"
	// oversizedCut is a mail read from the mailbox over max_mail_bytes: only its header came in.
	oversizedCut = "mail_cut"
	// oversizedFile is an attachment left out, over attachments.max_bytes or the quota.
	oversizedFile = "attachment_left_out"
)

// metrics are the channel's counters. Every e-mail instance of a gateway shares each
// counter, told apart by the channel label.
type metrics struct {
	dropped   *prometheus.CounterVec // by reason
	oversized *prometheus.CounterVec // by what
}

// newMetrics returns the counters of the instance name, registered with reg (nil: counted
// but not exported). Every label value shows from the start, at 0, so an alert on its rate
// has a series to watch.
func newMetrics(reg prometheus.Registerer, name normalize.InstanceName) (metrics, error) {
	dropped, err := instanceCounter(reg, name, prometheus.CounterOpts{Name: "gateway_email_dropped_total",
		Help: "Mails that opened no ticket (automatic replies, bulk mail, the gateway's own mail, delivery reports), by channel instance and reason."},
		"reason", dropOwn, dropAuto, dropBulk, dropBounce)
	if err != nil {
		return metrics{}, err
	}
	oversized, err := instanceCounter(reg, name, prometheus.CounterOpts{Name: "gateway_email_oversized_total",
		Help: "Mails refused or taken in without their content for size, and attachments left out for size or quota, by channel instance."},
		"what", oversizedRefused, oversizedCut, oversizedFile)
	if err != nil {
		return metrics{}, err
	}
	return metrics{dropped: dropped, oversized: oversized}, nil
}

// instanceCounter registers a counter labelled channel and label (or takes the one another
// instance registered) and returns it curried with the channel name, each of values shown.
func instanceCounter(reg prometheus.Registerer, name normalize.InstanceName, opts prometheus.CounterOpts, label string, values ...string) (*prometheus.CounterVec, error) {
	vec := prometheus.NewCounterVec(opts, []string{"channel", label})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register %s: %w", opts.Name, err)
			}
			if vec, ok = are.ExistingCollector.(*prometheus.CounterVec); !ok {
				return nil, fmt.Errorf("register %s: taken by a %T", opts.Name, are.ExistingCollector)
			}
		}
	}
	curried, err := vec.CurryWith(prometheus.Labels{"channel": string(name)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	for _, v := range values {
		curried.WithLabelValues(v)
	}
	return curried, nil
}
