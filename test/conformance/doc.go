// Package conformance owns the shared test suites that every implementation of a gateway
// contract must pass, in the manner of benthos' integration.StreamTests: RunStore for the
// router's store, RunHelpdesk for connectors.Helpdesk and RunChannel for connectors.Channel.
// An implementation's own tests call the suite with a harness that connects it to its fake
// remote (or a real peer); the suite then checks the promises the router relies on, so a new
// connector or store cannot quietly weaken them:
//
//   - dedup keys, order, one ticket per conversation, idempotent retries;
//   - persist, then acknowledge: while Sink.Deliver fails, the remote must not learn that a
//     message was handed over (no 2xx, no advanced offset), and once the store is back the
//     message arrives once (SinkFailureIsNotAcknowledged, with the harness's view of the
//     remote: ChannelHarness.Acknowledged, HelpdeskHarness.ReplyAcknowledged);
//   - Post's external IDs are exactly the prefix of the batch the remote took when it fails
//     half-way, and a retry after a lost answer doubles nothing (PartialBatchReportsPrefix,
//     LostAnswerIsNotDoubled, with HelpdeskHarness.FailAfter);
//   - errors follow the one HTTP policy, connectors.ClassifyStatus, unless the harness
//     declares a protocol's own meaning of a status (SendClassifiesErrors,
//     PostClassifiesErrors, with faults from test/httpfault on the connector's own wire).
//
// A harness leaves a hook nil for what its connector cannot have, and the cases that need it
// are skipped saying why. The suites prove themselves: reference_test.go has the smallest
// channel and helpdesk that keep every promise, and selftest_test.go breaks each promise in
// a copy of them and requires the suite to fail exactly the cases that check it.
package conformance
