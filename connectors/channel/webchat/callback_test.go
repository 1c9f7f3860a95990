package webchat

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/callback"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
)

func withCallbacks(region string) func(*Config, *Deps) {
	return func(c *Config, _ *Deps) { c.CallbackRequests, c.CallbackRegion = true, region }
}

// A call-back request is a message of the player's, flagged, with the number in E.164; the
// player's page sees it without the agents' words; a resent one is the same message.
func TestCallbackRequest(t *testing.T) {
	h := start(t, withCallbacks("DE"), true)
	c := h.connect(t)
	w := c.hello(clientFrame{Player: playerToken(claims{PlayerID: "p-9", VIP: 4, Exp: time.Now().Add(time.Hour).Unix()}), Language: "de"})
	require.True(t, w.CallbackRequests, "the welcome tells the page")

	c.send(clientFrame{Type: typeCallback, ClientID: "cb-1", Phone: "0170 1234567", PreferredTime: "nach 18 Uhr"})
	ack := c.next()
	require.Equal(t, typeAck, ack.Type)
	require.Equal(t, "cb-1", ack.ClientID)
	require.Equal(t, &wireCallback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, ack.Callback, "the page shows the number as stored")
	got := h.store.delivered()
	require.Len(t, got, 1)
	m := got[0]
	require.Equal(t, &normalize.Callback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, m.Callback, "national number read in callback_region")
	require.Equal(t, normalize.KindText, m.Kind)
	require.True(t, strings.HasPrefix(m.Text, callback.Prefix), m.Text)
	require.Contains(t, m.Text, "the web chat")
	require.Equal(t, normalize.ExternalID(string(m.Address)+":cb-1"), m.ExternalID)
	require.Equal(t, 4, m.Author.VIPTier, "the router's priority needs the tier")
	require.Equal(t, "p-9", m.Author.PlayerID)

	view, ok := h.ch.view(m)
	require.True(t, ok)
	require.Empty(t, view.Text, "the page says it in the player's language")
	require.Equal(t, &wireCallback{Phone: "+491701234567", PreferredTime: "nach 18 Uhr"}, view.Callback)
	require.Equal(t, "cb-1", view.ClientID)

	// Resent after a lost ack: the same message to the store.
	c.send(clientFrame{Type: typeCallback, ClientID: "cb-1", Phone: "0170 1234567", PreferredTime: "nach 18 Uhr"})
	require.Equal(t, typeAck, c.next().Type)
	require.Len(t, h.store.delivered(), 1)
}

func TestCallbackRequestRefusals(t *testing.T) {
	t.Run("no number", func(t *testing.T) {
		h := start(t, withCallbacks(""), true)
		c := h.connect(t)
		c.hello(clientFrame{Token: visitorToken("v1", time.Now().Add(time.Hour))})
		c.send(clientFrame{Type: typeCallback, ClientID: "cb-1", Phone: "0170 1234567"})
		e := c.next()
		require.Equal(t, typeError, e.Type)
		require.Equal(t, codeInvalidPhone, e.Code)
		require.Equal(t, "cb-1", e.ClientID)
		require.Contains(t, e.Message, "country code", "without callback_region a number needs its country code")
		c.send(clientFrame{Type: typeCallback, ClientID: "cb-2", Phone: "call me maybe"})
		require.Equal(t, codeInvalidPhone, c.next().Code)
		require.Empty(t, h.store.attempts(), "nothing reached the store")
	})
	t.Run("off", func(t *testing.T) {
		h := start(t, nil, true)
		c := h.connect(t)
		w := c.hello(clientFrame{Token: visitorToken("v1", time.Now().Add(time.Hour))})
		require.False(t, w.CallbackRequests)
		c.send(clientFrame{Type: typeCallback, ClientID: "cb-1", Phone: "+491701234567"})
		require.Equal(t, codeBadRequest, c.next().Code)
		require.Empty(t, h.store.attempts())
	})
}

// The action is on the page only when the chat takes requests, in the page's language.
func TestCallbackActionOnThePage(t *testing.T) {
	h := start(t, withCallbacks(""), true)
	_, body := get(t, h.srv.URL+"/chat?lang=de")
	for _, want := range []string{`id="callback-open"`, ">Rückruf anfordern<", `id="callback-phone" type="tel"`, ">Ihre Telefonnummer<",
		">Gewünschte Uhrzeit (optional)<", `id="callback-send"`, `id="callback-error"`} {
		require.Contains(t, body, want)
	}
	require.NotRegexp(t, inlineHandler, body)

	off := start(t, nil, true)
	resp, body := get(t, off.srv.URL+"/chat")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, body, `id="callback`)
}

func TestCallbackRegionValidated(t *testing.T) {
	for region, ok := range map[string]bool{"": true, "DE": true, "gb": true, "XX": false, "Germany": false} {
		cfg := testConfig()
		cfg.CallbackRegion = region
		p := settings.NewProblems("")
		cfg.Validate(p)
		if ok {
			require.Empty(t, p.List(), region)
		} else {
			require.Len(t, p.List(), 1, region)
			require.Equal(t, "callback_region", p.List()[0].Key)
			require.Contains(t, p.List()[0].Message, "want an ISO 3166 region code", region)
		}
	}
}
