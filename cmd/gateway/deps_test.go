package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportRules keeps data flowing one way (docs/connectors.md, DESIGN): the binary links
// nothing under test/; config/ knows no connector, even in its tests; connectors reach the
// router only through the Sink, so no connector imports config/, router/ or test/; the model
// imports nothing of ours.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/casino-support/gateway/"
	deps := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list", "-deps"}, args...)...).Output()
		require.NoError(t, err, "go list -deps %v", args)
		var ours []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			// -test lists "p [p.test]" for packages recompiled for a test, and "p.test".
			p, _, _ := strings.Cut(line, " ")
			if p, ok := strings.CutPrefix(strings.TrimSuffix(p, ".test"), mod); ok {
				ours = append(ours, p)
			}
		}
		return ours
	}
	under := func(p string, dirs ...string) bool {
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}

	for _, p := range deps("../../cmd/gateway") {
		require.False(t, under(p, "test"), "the gateway binary links %s", p)
	}
	for _, p := range deps("-test", "../../config") {
		require.True(t, under(p, "config", "connectors/settings"), "config/ (with its tests) imports %s", p)
	}
	out, err := exec.Command("go", "list", "../../connectors/...").Output()
	require.NoError(t, err)
	for _, c := range strings.Fields(string(out)) {
		for _, p := range deps(c) {
			require.False(t, under(p, "config", "router", "test", "cmd"), "%s imports %s", c, p)
		}
	}
	require.Equal(t, []string{"normalize"}, deps("../../normalize"), "normalize imports nothing of ours")
}
