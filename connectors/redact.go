package connectors

import (
	"errors"
	"net/url"
	"strings"

	"github.com/casino-support/gateway/connectors/settings"
)

// RedactURLError returns err with the URL net/http quotes in it (a *url.Error reads
// `Post "https://tickets.example/hook?api_key=...": ...`) stripped of its query, fragment and
// user information by settings.RedactURL: an operator's URL may carry an API key there, and a
// connector's errors end up in logs, in dead letters' last_error and in the health report
// /readyz serves. Connectors pass every error of their HTTP client through it, before wrapping
// it: the caller's *url.Error is not changed.
//
// The result keeps the chain for errors.Is and errors.As (a timeout is still a timeout). A
// *url.Error found deeper in err only has its text replaced in err's: the chain still holds
// it as it was, so redact before wrapping.
func RedactURLError(err error) error {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return err
	}
	red := &url.Error{Op: ue.Op, URL: settings.RedactURL(ue.URL), Err: ue.Err}
	if top, ok := err.(*url.Error); ok && top == ue {
		return red
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), ue.Error(), red.Error()), err: err}
}

// redactedError is err with a redacted text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
