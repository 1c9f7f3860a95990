package main

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/router/store"
)

// serve runs the store with the lazy hold that store.Options leaves off: an inbound
// completion at a steady rate shares the next intake's commit (issue 16, docs/performance.md).
func TestServeStoreHasTheLazyHold(t *testing.T) {
	cfg, err := config.Default(catalog(connectorTypes()))
	require.NoError(t, err)
	opts := storeOptions(cfg, slog.Default())
	require.Equal(t, store.LazyHold, opts.LazyHold)
	require.Positive(t, opts.LazyHold)
}
