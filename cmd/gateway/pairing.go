package main

import (
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/normalize"
)

// pairables is the inbox's lookup of the channels its admins pair from the Channels page: the
// WhatsApp linked devices among channels(), adapted to the inbox's own interface so that the
// inbox depends on no channel. It looks when asked, so the order in which buildConnectors
// makes channels and helpdesks does not matter.
func pairables(channels func() map[normalize.InstanceName]connectors.Channel) func() []inbox.Pairable {
	return func() []inbox.Pairable {
		var out []inbox.Pairable
		for _, c := range channels() {
			if wa, ok := c.(*whatsapp.Channel); ok {
				out = append(out, whatsAppPairing{wa})
			}
		}
		return out
	}
}

// whatsAppPairing is a linked-device instance as the inbox pairs it; PairNow and PairPhone
// are the channel's own.
type whatsAppPairing struct{ *whatsapp.Channel }

func (w whatsAppPairing) PairingStatus() inbox.PairingStatus {
	st := w.Status()
	return inbox.PairingStatus{Instance: st.Instance, Kind: normalize.KindWhatsApp, State: string(st.State),
		Detail: st.Detail, Unlinked: st.Unlinked(), PhoneCodes: true, QRCode: st.QRCode, QRExpires: st.QRExpires,
		PairCode: st.PairCode, Account: st.Account, Since: st.Since}
}
