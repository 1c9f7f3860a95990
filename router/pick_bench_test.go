package router_test

import (
	"testing"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
)

// BenchmarkPick is the routing cost of a conversation's first message against a policy of
// the shape config/example.yaml shows: rules by channel, kind, language, VIP tier and
// keywords, where the message matches only the default.
func BenchmarkPick(b *testing.B) {
	rules := router.Rules{Default: "desk", List: []router.Rule{
		{Channels: []normalize.InstanceName{"tg-vip"}, Helpdesk: "vip"},
		{Kinds: []normalize.ChannelKind{normalize.KindEmail}, Languages: []string{"de", "en-GB"}, Helpdesk: "mail"},
		{MinVIP: 3, Helpdesk: "vip"},
		{Keywords: []string{"withdrawal", "KYC", "Auszahlung", "chargeback", "Betrug"}, Languages: []string{"en"}, Helpdesk: "payments"},
		{Kinds: []normalize.ChannelKind{normalize.KindWebchat}, Helpdesk: "inbox"},
	}}
	m := normalize.Message{Channel: "tg", ChannelKind: normalize.KindTelegram, Kind: normalize.KindText,
		Author: normalize.Author{Role: normalize.RolePlayer, Language: "de-AT", VIPTier: 1},
		Text:   "Hallo, meine Zahlung von 250 EUR hängt seit gestern, können Sie nachsehen?"}
	for b.Loop() {
		if got := rules.Pick(m); got != "desk" {
			b.Fatalf("Pick() = %q, want the default", got)
		}
	}
}
