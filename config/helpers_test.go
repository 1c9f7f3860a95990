package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// env fakes os.LookupEnv with a fixed set of variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// requireProblems asserts that err is a *ValidationError whose problems, in order, start
// with the given prefixes; a prefix keeps OS-specific message tails out of the tables.
func requireProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	require.Error(t, err)
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want *ValidationError, got %T: %v", err, err)
	got := make([]string, len(ve.Errors))
	for i, fe := range ve.Errors {
		got[i] = fe.Error()
	}
	require.Len(t, got, len(want), "problems:\n%s", strings.Join(got, "\n"))
	for i := range want {
		require.True(t, strings.HasPrefix(got[i], want[i]), "problem %d:\n got %q\nwant %q...\nall:\n%s", i, got[i], want[i], strings.Join(got, "\n"))
	}
	require.Equal(t, strings.Join(got, "\n"), err.Error(), "Error() lists the problems one per line")
}

// noInstances is what Parse makes of an empty file: the defaults without the embedded web
// chat and inbox that Default adds for running without a file.
func noInstances() *Config {
	c := baseDefaults()
	c.catalog = testCatalog
	c.deriveDefaults()
	return c
}

// parse is Parse with the test catalog.
func parse(data []byte, baseDir string, getenv func(string) (string, bool)) (*Config, error) {
	return Parse(data, baseDir, getenv, testCatalog)
}

// defaultConfig is Default with the test catalog.
func defaultConfig(t *testing.T) *Config {
	t.Helper()
	c, err := Default(testCatalog)
	require.NoError(t, err)
	return c
}

// requireSameConfig compares configurations without their catalogs, which hold functions.
func requireSameConfig(t *testing.T, want, got *Config) {
	t.Helper()
	w, g := *want, *got
	w.catalog, g.catalog = Catalog{}, Catalog{}
	require.Equal(t, &w, &g)
}
