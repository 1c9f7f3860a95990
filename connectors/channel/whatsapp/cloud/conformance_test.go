package cloud_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/whatsappfake"
)

// TestChannelConformance runs the router's promises against the channel and the fake Cloud
// API: players' messages come as signed webhook POSTs (a refused one is sent again, as Meta
// does), replies go through the messages endpoint, whose failures pass through a fault
// injector answering in the Graph API's error format. Every player the suite makes up has
// written within the 24-hour window (the fake's OpenWindow), as a player the gateway answers
// has.
func TestChannelConformance(t *testing.T) {
	var envs conformance.PerTest[*env]
	conformance.RunChannel(t, conformance.ChannelHarness{
		New: func(t *testing.T) connectors.Channel {
			e := newEnv(t, nil)
			envs.Put(t, e)
			return e.ch
		},
		PlayerSends: func(t *testing.T, _ connectors.Channel, a normalize.Address, externalID, text string) error {
			e := envs.Get(t)
			body, _ := e.fake.MessageNotification(whatsappfake.Incoming{ID: externalID, From: waIDOf(a), Name: "Conformance", Text: text})
			status, err := e.fake.Post(t.Context(), body, externalID)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("webhook answered %d", status)
			}
			return nil
		},
		Received: func(t *testing.T, a normalize.Address) []string {
			var texts []string
			for _, m := range envs.Get(t).fake.Sent(waIDOf(a)) {
				texts = append(texts, m.Text)
			}
			return texts
		},
		// The Cloud API takes no idempotency key: a repeated Send is a second message.
		Idempotent: false,
		NewAddress: func(t *testing.T) normalize.Address {
			waID := newWaID()
			envs.Get(t).fake.OpenWindow(waID, time.Now())
			return address(waID)
		},
		Acknowledged: func(t *testing.T, _ normalize.Address, externalID string) bool {
			return envs.Get(t).fake.Acknowledged(externalID)
		},
		FailSend: func(t *testing.T, f httpfault.Fault) {
			envs.Get(t).faults.Next(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/messages") }, f)
		},
	})
}
