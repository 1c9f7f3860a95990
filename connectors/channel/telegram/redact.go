package telegram

import (
	"strings"

	"github.com/casino-support/gateway/connectors"
)

// redactedError hides the bot token in an error's text while keeping its chain for
// errors.Is/As. The library's network errors quote the request URL, which holds the token, and
// error texts end up in logs and in messages' fail_reason.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every occurrence of the token replaced, and the query and user
// information of a URL net/http quotes in it (connectors.RedactURLError).
func (c *Channel) redact(err error) error {
	err = connectors.RedactURLError(err)
	if err == nil || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), c.token, "<token>"), err: err}
}
