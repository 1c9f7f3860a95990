// Package webhookreceiver is a test stand-in for an operator's ticket system behind the
// signed-webhook helpdesk (connectors/helpdesk/webhook): it verifies signatures and
// timestamps, validates every request and its own answers against docs/webhook-openapi.yaml,
// deduplicates each event on its id (inside an events.batch too), records events and injects
// faults. Contract also validates the gateway's own answers, so tests prove both directions
// match the published document.
package webhookreceiver
