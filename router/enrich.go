package router

import (
	"context"
	"sync"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/playerdir"
)

// Languages chooses a message's language among the configured ones; router/language's
// Detector implements it.
type Languages interface {
	// Choose returns the language text is written in, else hint's when configured, else ""
	// (the conversation keeps the language it had).
	Choose(text, hint string) string
}

// Directory is the player directory (CRM) as the router asks it; playerdir.Cache implements
// it. Lookup returns within its own small budget, found or not.
type Directory interface {
	Lookup(ctx context.Context, q playerdir.Query) (playerdir.Player, bool)
}

// enrich completes the author of each player's message in msgs with what the policy knows
// beyond the channel: the language the words are in, and the player as the directory knows
// them (ID, name, VIP tier). It runs before intake, so that the routing policy sees a
// player's tier on the very message that opens the conversation, and so that no question to
// the directory is waited on while the store's writer is held; the store then compares the
// author with the conversation and emits the Update (language, player ID, VIP tier) the
// helpdesk needs.
func (r *Router) enrich(ctx context.Context, msgs []normalize.Message) {
	var players []int
	for i, m := range msgs {
		if m.Direction == normalize.Inbound && m.Author.Role == normalize.RolePlayer {
			players = append(players, i)
		}
	}
	if r.opts.Languages != nil {
		for _, i := range players {
			m := &msgs[i]
			m.Author.Language = r.opts.Languages.Choose(playerWords(*m), m.Author.Language)
		}
	}
	if r.opts.Directory != nil && len(players) > 0 {
		r.lookUpPlayers(ctx, msgs, players)
	}
}

// playerWords is the text of m that the player wrote, "" for what a channel or the gateway
// put in words for them (a missed call, a call-back request) or what carries no language.
func playerWords(m normalize.Message) string {
	if m.Callback != nil {
		return ""
	}
	switch m.Kind {
	case normalize.KindSystem, normalize.KindReaction, normalize.KindDeletion, normalize.KindLocation, normalize.KindContact, normalize.KindSticker:
		return ""
	}
	return m.Text
}

// lookUpPlayers asks the directory about the authors of msgs[players], each player once and
// all at once: a batch of a hundred Telegram updates waits one budget, not a hundred.
func (r *Router) lookUpPlayers(ctx context.Context, msgs []normalize.Message, players []int) {
	type answer struct {
		player playerdir.Player
		found  bool
	}
	answers := map[playerdir.Query]*answer{}
	var wg sync.WaitGroup
	for _, i := range players {
		q := playerdir.QueryOf(msgs[i])
		if _, asked := answers[q]; asked {
			continue
		}
		a := &answer{}
		answers[q] = a
		wg.Go(func() { a.player, a.found = r.opts.Directory.Lookup(ctx, q) })
	}
	wg.Wait()
	for _, i := range players {
		a := answers[playerdir.QueryOf(msgs[i])]
		if !a.found {
			continue
		}
		au := &msgs[i].Author
		if au.PlayerID != a.player.PlayerID {
			// The directory named the player (a channel's proof of the same ID stays the proof).
			au.PlayerIDBy = normalize.LinkedByDirectory
		}
		au.PlayerID, au.VIPTier = a.player.PlayerID, a.player.VIPTier
		au.Country, au.AccountStatus, au.KYCStatus, au.PersonalManager = a.player.Country, a.player.AccountStatus, a.player.KYCStatus, a.player.PersonalManager
		if a.player.Name != "" {
			au.DisplayName = a.player.Name
		}
	}
}
