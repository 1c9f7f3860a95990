package voice

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The callbacks of a call (the menu choice, the recording, the transcript) need to know who
// called: Twilio's recording callbacks do not say, and Vonage's say only the conversation.
// Rather than store every call as it starts (the incoming-call webhook must answer at once),
// the channel writes the caller into the callback URLs it hands the provider, with a MAC of
// its own: Twilio's signature covers the URL anyway, Vonage's JWT covers only the body.

// callbackURL returns the URL of the callback sub ("/recording") for the call of k.
func (c *Channel) callbackURL(sub string, k caller) string {
	q := url.Values{}
	q.Set("call", k.call)
	q.Set("from", k.from)
	q.Set("to", k.to)
	q.Set("lang", k.lang)
	q.Set("ctx", c.contextMAC(k.call, k.from, k.to, k.lang))
	return c.hookURL.String() + sub + "?" + q.Encode()
}

func (c *Channel) contextMAC(fields ...string) string {
	m := hmac.New(sha256.New, c.ctxKey)
	m.Write([]byte(strings.Join(fields, "\n")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// callerOf reads the call context of a callback's URL back, refusing one the channel did not
// write.
func (c *Channel) callerOf(q url.Values) (caller, error) {
	call, from, to, lang := q.Get("call"), q.Get("from"), q.Get("to"), q.Get("lang")
	want := c.contextMAC(call, from, to, lang)
	if !hmac.Equal([]byte(want), []byte(q.Get("ctx"))) {
		return caller{}, fmt.Errorf("%w: the call context of the URL is missing or forged", errBadRequest)
	}
	k := c.identify(call, from, to)
	k.lang = lang
	return k, nil
}

// callContext reads the call context of a callback's request, answering 400 when it is not
// the channel's own.
func (c *Channel) callContext(w http.ResponseWriter, r *http.Request) (caller, bool) {
	k, err := c.callerOf(r.URL.Query())
	if err != nil {
		c.log.Warn("voice: callback refused", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return caller{}, false
	}
	return k, true
}
