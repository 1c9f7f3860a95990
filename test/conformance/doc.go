// Package conformance owns the shared test suites that every implementation of a gateway
// contract must pass, in the manner of benthos' integration.StreamTests: RunStore for the
// router's store, RunHelpdesk for connectors.Helpdesk and RunChannel for connectors.Channel.
// An implementation's own tests call the suite with a harness that connects it to its fake
// remote; the suite then checks the promises the router relies on (dedup, order, one ticket
// per conversation, idempotent retries, persist-then-acknowledge), so a new connector or store
// cannot quietly weaken them.
package conformance
