package conformance_test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/conformance"
)

// brokenEnv names the broken reference connector TestBroken runs the suite against:
// "channel/<mode>/<breaks>" or "helpdesk/<breaks>".
const brokenEnv = "CONFORMANCE_BROKEN"

// TestBroken runs a suite against a deliberately broken reference connector. It fails by
// design, so it runs only in the subprocesses TestSuitesCatchBrokenConnectors starts.
func TestBroken(t *testing.T) {
	variant := os.Getenv(brokenEnv)
	if variant == "" {
		t.Skip("runs a deliberately broken connector; TestSuitesCatchBrokenConnectors starts it with " + brokenEnv + " set")
	}
	kind, rest, _ := strings.Cut(variant, "/")
	switch kind {
	case "channel":
		mode, breaks, _ := strings.Cut(rest, "/")
		conformance.RunChannel(t, refChannelHarness(mode, breaks))
	case "helpdesk":
		conformance.RunHelpdesk(t, refHelpdeskHarness(rest))
	default:
		t.Fatalf("%s=%q: want channel/<mode>/<breaks> or helpdesk/<breaks>", brokenEnv, variant)
	}
}

// classifyCases are the leaves of SendClassifiesErrors and PostClassifiesErrors.
func under(parent string, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = parent + "/" + n
	}
	return out
}

// faultNames are the cases of SendClassifiesErrors and PostClassifiesErrors.
var faultNames = []string{"429+Retry-After", "503+Retry-After", "500", "502", "503", "timeout", "connection_reset", "400", "401", "403"}

// TestSuitesCatchBrokenConnectors runs the suites against reference connectors that each
// break one promise on purpose, each in a subprocess (a suite that fails must not fail this
// test), and requires the suite to fail exactly the cases that check that promise, saying
// which promise was broken. TestReferenceChannel and TestReferenceHelpdesk show that the
// unbroken references pass.
func TestSuitesCatchBrokenConnectors(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("inside a broken run")
	}
	const (
		sendErrors = "SendClassifiesErrors"
		postErrors = "PostClassifiesErrors"
		partial    = "PartialBatchReportsPrefix"
		lost       = "LostAnswerIsNotDoubled"
		retryAfter = "RetryAfterRespected"
	)
	tests := []struct {
		variant string
		fails   []string // failing subtests below TestBroken; their parents fail with them
		says    string   // a phrase of the broken promise's failure message
	}{
		// (1) acknowledging the source while Deliver failed
		{"channel/hook/" + ackDespiteFailure, []string{"SinkFailureIsNotAcknowledged"},
			"acknowledged the player's message to its remote while Deliver failed"},
		{"channel/hook/" + ackBeforeDeliver, []string{"SinkFailureIsNotAcknowledged"},
			"acknowledged the player's message to its remote while Deliver failed"},
		{"channel/poll/" + advanceDespiteFailure, []string{"SinkFailureIsNotAcknowledged"},
			"acknowledged the player's message to its remote while Deliver failed"},
		{"helpdesk/" + ackDespiteFailure, []string{"SinkFailureIsNotAcknowledged"},
			"acknowledged the agent reply to its remote while Deliver failed"},

		// (2) external IDs that are no prefix of the batch, or a lost track of what was posted
		{"helpdesk/" + wholeBatchIDs, slices.Concat(
			under(partial, "first_fails_503", "second_fails_reset", "third_fails_500"),
			under(lost, "first_answer_lost_502", "second_answer_lost_reset"),
			under(postErrors, faultNames...), // the one message failed, yet an ID came back
			under(retryAfter, "http_date", "mid_batch")),
			"Post must return exactly their external IDs"},
		{"helpdesk/" + noIDsOnFailure, slices.Concat(
			under(partial, "second_fails_reset", "third_fails_500"),
			under(lost, "second_answer_lost_reset"),
			under(retryAfter, "mid_batch")),
			"Post must return exactly their external IDs"},
		{"helpdesk/" + dropsTicketOnError, slices.Concat(
			under(partial, "second_fails_reset", "third_fails_500"),
			under(lost, "second_answer_lost_reset"),
			under(retryAfter, "mid_batch")),
			"Post must return it with the error"},
		{"helpdesk/" + noIdempotency, slices.Concat([]string{"RetryDoesNotDuplicate", "ConcurrentPostsOneTicket", "ClosedTicketFollowUp"},
			under(lost, "first_answer_lost_502", "second_answer_lost_reset")),
			"a retry after a lost answer must not post the message again"},

		// (3) errors classified against the one policy
		{"channel/hook/" + ignoresRetryAfter, under(sendErrors, "429+Retry-After", "503+Retry-After"),
			"the error must carry its wait"},
		{"channel/hook/" + fiveXXPermanent, under(sendErrors, "503+Retry-After", "500", "502", "503"),
			"which a retry can get past, but the error is permanent"},
		{"channel/poll/" + networkPermanent, under(sendErrors, "timeout", "connection_reset"),
			"which a retry can get past, but the error is permanent"},
		{"channel/hook/" + badRequestRetryable, under(sendErrors, "400"),
			"the error must wrap connectors.ErrPermanent"},
		{"channel/hook/" + unauthorizedPermanent, under(sendErrors, "401", "403"),
			"the error must wrap connectors.ErrUnauthorized"},
		{"helpdesk/" + fiveXXPermanent, under(postErrors, "503+Retry-After", "500", "502", "503"),
			"which a retry can get past, but the error is permanent"},
		{"helpdesk/" + networkPermanent, under(postErrors, "timeout", "connection_reset"),
			"which a retry can get past, but the error is permanent"},
		{"helpdesk/" + badRequestRetryable, under(postErrors, "400"),
			"the error must wrap connectors.ErrPermanent"},
		{"helpdesk/" + unauthorizedPermanent, under(postErrors, "401", "403"),
			"the error must wrap connectors.ErrUnauthorized"},
		{"helpdesk/" + ignoresRetryAfter, slices.Concat(under(postErrors, "429+Retry-After", "503+Retry-After"),
			under(retryAfter, "http_date", "mid_batch")),
			"the error must carry its wait"},
		{"helpdesk/" + retryAfterSecondsOnly, under(retryAfter, "http_date"),
			"asks for about 2m"},

		// (4) what every backend must do as well as RT (issue 18)
		{"helpdesk/" + dropsAttachments, []string{"Attachments"}, "message 1 carried one file"},
		{"helpdesk/" + racyOpen, []string{"ConcurrentPostsOneTicket"}, "must find one ticket"},
		{"helpdesk/" + replyIDByText, []string{"AgentReplyDeliveredOnce"}, "the dedup key must be the remote's reply ID, not the content"},
		{"helpdesk/" + echoForeignID, []string{"EchoIgnored"}, "the player would get their own words back"},
		{"helpdesk/" + notesAsReplies, []string{"InternalNoteIgnored"}, "the router sends that to the player"},
		{"helpdesk/" + statusIDByStatus, []string{"StatusSync"}, "under a dedup key of its own"},
		{"helpdesk/" + noFollowUp, []string{"ClosedTicketFollowUp"}, "must open a new ticket (closed_ticket: follow_up)"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.variant, "/", "_"), func(t *testing.T) {
			t.Parallel()
			out, err := runBroken(t, tt.variant)
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the suite passed a connector that breaks %s (err %v):\n%s", tt.variant, err, out)
			require.Equal(t, 1, exit.ExitCode(), "the suite run crashed rather than failed:\n%s", out)

			want := map[string]bool{}
			for _, f := range tt.fails {
				for name := f; name != "."; name = parent(name) {
					want[name] = true
				}
			}
			require.ElementsMatch(t, sortedKeys(want), failedSubtests(out),
				"the suite must fail exactly the cases that check what %s breaks:\n%s", tt.variant, out)
			require.Contains(t, out, tt.says, "the failure must say which promise was broken")
		})
	}
}

// runBroken runs TestBroken on variant in a subprocess of this test binary.
func runBroken(t *testing.T, variant string) (string, error) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBroken$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), brokenEnv+"="+variant)
	began := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s: suite ran in %s", variant, time.Since(began).Round(time.Millisecond))
	return string(out), err
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: TestBroken/(\S+) \(`)

// failedSubtests returns the subtests below TestBroken that the output reports failed.
func failedSubtests(out string) []string {
	var names []string
	for _, m := range failLine.FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return names
}

func parent(name string) string {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return "."
	}
	return name[:i]
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
