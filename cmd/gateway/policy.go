package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/language"
	"github.com/casino-support/gateway/router/playerdir"
)

// supportPolicy builds the language detector and the player directory cfg asks for; either
// is nil when not configured (an untyped nil, so the router sees none).
func supportPolicy(cfg *config.Config, log *slog.Logger) (router.Languages, router.Directory, error) {
	var langs router.Languages
	if l := cfg.Language; len(l.Detect) > 0 {
		d, err := language.New(l.Detect, language.Options{MinLetters: l.MinLetters, Accuracy: l.Accuracy})
		if err != nil {
			return nil, nil, fmt.Errorf("language.detect: %w", err)
		}
		// The models load in the background, not before the gateway serves (issue 16:
		// start-up under 1 s); a message before they are in loads what it needs itself.
		go d.Warm()
		langs = d
	}
	pd := cfg.PlayerDirectory
	var src playerdir.Source
	switch {
	case pd.URL != "":
		src = playerdir.NewHook(pd.URL, []byte(pd.Secret.Value()), &http.Client{Timeout: pd.Timeout})
	case pd.File != "":
		f, err := playerdir.LoadFile(pd.File)
		if err != nil {
			return nil, nil, fmt.Errorf("player_directory.file: %w", err)
		}
		src = f
	default:
		return langs, nil, nil
	}
	return langs, playerdir.NewCache(src, playerdir.CacheOptions{TTL: pd.CacheTTL, NegativeTTL: pd.NegativeTTL, Budget: pd.Budget,
		Timeout: pd.Timeout}, log.With("component", "player_directory")), nil
}
