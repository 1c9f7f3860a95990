// Package playerdir owns the look-up of players in the operator's player directory (its
// CRM): who writes from a channel address, or who a player ID is, with their VIP tier,
// country, account and KYC status and personal manager. Two sources: an HTTP hook
// (hook.go, JSON over POST, signed like the webhook helpdesk) and a static YAML file
// (file.go) for small operators. Cache wraps either with a TTL, negative caching and a time
// budget, so a slow or failing directory never holds a message up for longer than that.
package playerdir

import (
	"context"
	"errors"

	"github.com/casino-support/gateway/normalize"
)

// ErrNotFound is a source's answer for a player it does not know.
var ErrNotFound = errors.New("player not in the directory")

// Query asks for one player: by PlayerID when the channel identified them (a signed web chat
// token), else by the channel and address they wrote from. Email is the sender's address on
// the e-mail channel, whose Address names a thread rather than a person.
type Query struct {
	PlayerID    string                 `json:"player_id,omitempty"`
	Channel     normalize.InstanceName `json:"channel"`
	ChannelKind normalize.ChannelKind  `json:"channel_kind"`
	Address     normalize.Address      `json:"address"`
	Email       string                 `json:"email,omitempty"`
}

// key is what the cache files a query under: the same player asked the same way.
func (q Query) key() Query {
	if q.PlayerID != "" {
		return Query{PlayerID: q.PlayerID}
	}
	return q
}

// Player is what the directory knows of a player.
type Player struct {
	PlayerID        string `json:"player_id" yaml:"player_id"`
	Name            string `json:"name,omitempty" yaml:"name"`
	VIPTier         int    `json:"vip_tier" yaml:"vip_tier"`
	Country         string `json:"country,omitempty" yaml:"country"`                   // ISO 3166-1 alpha-2
	AccountStatus   string `json:"account_status,omitempty" yaml:"account_status"`     // active, suspended, self_excluded, closed
	KYCStatus       string `json:"kyc_status,omitempty" yaml:"kyc_status"`             // none, pending, verified, rejected
	PersonalManager string `json:"personal_manager,omitempty" yaml:"personal_manager"` // the helpdesk's agent ID
	// Withdrawals are the player's withdrawals not paid out yet, which the FAQ bot reads out
	// when asked where the money is (router/faqbot); optional.
	Withdrawals []Withdrawal `json:"withdrawals,omitempty" yaml:"withdrawals"`
}

// Withdrawal is one of Player.Withdrawals.
type Withdrawal struct {
	Amount      float64 `json:"amount" yaml:"amount"`
	Currency    string  `json:"currency" yaml:"currency"`         // ISO 4217, or what the casino shows
	Status      string  `json:"status" yaml:"status"`             // the CRM's words: pending, processing, approved...
	RequestedAt string  `json:"requested_at" yaml:"requested_at"` // a date as the player knows it, 2026-12-05
}

// Source answers a query: the player, ErrNotFound, or another error when it cannot tell.
type Source interface {
	Lookup(ctx context.Context, q Query) (Player, error)
}

// QueryOf is the query for the author of an inbound player's message m.
func QueryOf(m normalize.Message) Query {
	return Query{PlayerID: m.Author.PlayerID, Channel: m.Channel, ChannelKind: m.ChannelKind, Address: m.Address, Email: m.Author.Email}
}
