package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/router/playerdir"
)

func TestSupportPolicy(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := config.Config{Language: config.Language{MinLetters: 20, Accuracy: "low"}}

	langs, dir, err := supportPolicy(&base, log)
	require.NoError(t, err)
	require.Nil(t, langs, "nothing configured is no detector, not a typed nil the router would call")
	require.Nil(t, dir)

	withLangs := base
	withLangs.Language.Detect = []string{"en", "ro"}
	langs, _, err = supportPolicy(&withLangs, log)
	require.NoError(t, err)
	require.Equal(t, "ro", langs.Choose("Când ajung banii retrași? Au trecut trei zile.", "en"))

	players := filepath.Join(t.TempDir(), "players.yaml")
	require.NoError(t, os.WriteFile(players, []byte("players:\n  - player_id: P-1\n    vip_tier: 2\n"), 0o600))
	withFile := base
	withFile.PlayerDirectory = config.PlayerDirectory{File: players}
	_, dir, err = supportPolicy(&withFile, log)
	require.NoError(t, err)
	p, found := dir.Lookup(context.Background(), playerdir.Query{PlayerID: "P-1"})
	require.True(t, found)
	require.Equal(t, 2, p.VIPTier)

	withFile.PlayerDirectory.File = filepath.Join(t.TempDir(), "missing.yaml")
	_, _, err = supportPolicy(&withFile, log)
	require.ErrorContains(t, err, "player_directory.file", "a directory file that cannot be read fails the start, naming the key")
}
