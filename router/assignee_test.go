package router_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/playerdir"
)

// lockedDirectory is a stubDirectory a test may change between messages.
type lockedDirectory struct {
	mu      sync.Mutex
	players stubDirectory
}

func (d *lockedDirectory) Lookup(ctx context.Context, q playerdir.Query) (playerdir.Player, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.players.Lookup(ctx, q)
}

func (d *lockedDirectory) set(addr normalize.Address, p playerdir.Player) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.players[addr] = p
}

// A conversation that a rule with `assignee: personal_manager` opens is assigned to the
// player's personal manager from the start, and the helpdesk gets it with the conversation;
// no manager, or no such rule, leaves it unassigned, and a later message does not reassign it.
func TestRuleAssigneeOpensTheConversation(t *testing.T) {
	tests := []struct {
		name     string
		player   playerdir.Player
		later    *playerdir.Player // the directory's answer for a second message, if any
		helpdesk normalize.InstanceName
		assignee *normalize.Agent
	}{
		{"a VIP with a manager", playerdir.Player{PlayerID: "P-1", VIPTier: 3, PersonalManager: "mgr-ioana"},
			nil, "vip-desk", &normalize.Agent{ID: "mgr-ioana"}},
		{"a VIP without a manager", playerdir.Player{PlayerID: "P-2", VIPTier: 3},
			nil, "vip-desk", nil},
		{"a manager but no rule that assigns", playerdir.Player{PlayerID: "P-3", VIPTier: 1, PersonalManager: "mgr-ioana"},
			nil, "desk", nil},
		{"a later message keeps the first assignee", playerdir.Player{PlayerID: "P-4", VIPTier: 3, PersonalManager: "mgr-ioana"},
			&playerdir.Player{PlayerID: "P-4", VIPTier: 3, PersonalManager: "mgr-dan"}, "vip-desk", &normalize.Agent{ID: "mgr-ioana"}},
		{"a later message does not assign an open conversation", playerdir.Player{PlayerID: "P-5", VIPTier: 1, PersonalManager: "mgr-ioana"},
			&playerdir.Player{PlayerID: "P-5", VIPTier: 3, PersonalManager: "mgr-ioana"}, "desk", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := &lockedDirectory{players: stubDirectory{"p": tt.player}}
			f := newPolicyFixture(t, router.Options{Directory: dir}, router.Rules{Default: "desk", List: []router.Rule{
				{Name: "vip", MinVIP: 3, Helpdesk: "vip-desk", AssignManager: true},
			}})
			require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("p", "hello", "en")))
			if tt.later != nil {
				dir.set("p", *tt.later)
				require.NoError(t, f.r.Deliver(f.ctx, f.fromTelegram("p", "hello again", "en")))
			}

			c, err := f.st.ConversationAt(f.ctx, "tg", "p")
			require.NoError(t, err)
			require.Equal(t, tt.helpdesk, c.Helpdesk)
			require.Equal(t, tt.assignee, c.Assignee)

			hd := f.hds[tt.helpdesk]
			require.Eventually(t, func() bool {
				hd.mu.Lock()
				defer hd.mu.Unlock()
				_, ok := hd.convs[c.ID]
				return ok
			}, 10*time.Second, 20*time.Millisecond)
			hd.mu.Lock()
			defer hd.mu.Unlock()
			require.Equal(t, tt.assignee, hd.convs[c.ID].Assignee, "the helpdesk sees the assignee with the conversation")
		})
	}
}
