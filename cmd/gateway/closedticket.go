package main

import (
	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
)

// reopeners names the helpdesks whose settings say a player's message reopens a closed
// ticket (closed_ticket: reopen, or the inbox and the loopback helpdesk by nature), for
// store.Options.ReopenClosed; for every other helpdesk the store moves the closed ticket
// aside, and the next post opens a follow-up (issue 18).
func reopeners(cfg *config.Config) []normalize.InstanceName {
	var out []normalize.InstanceName
	for _, h := range cfg.Helpdesks {
		if p, ok := h.Settings.(settings.ClosedTicketPolicy); ok && p.ClosedTicketPolicy().Reopens() {
			out = append(out, normalize.InstanceName(h.Name))
		}
	}
	return out
}
