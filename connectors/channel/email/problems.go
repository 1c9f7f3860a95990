package email

import (
	"errors"
	"strings"

	"github.com/casino-support/gateway/connectors/settings"
)

// problems wraps settings.Problems so New can refuse settings the loader would have refused:
// the channel is also built directly, by tests and tools.
type problems struct{ *settings.Problems }

func newProblems() problems { return problems{settings.NewProblems("")} }

// err joins the problems into one error, nil when there are none.
func (p problems) err() error {
	var msgs []string
	for _, pr := range p.List() {
		msgs = append(msgs, pr.Key+": "+pr.Message)
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}
