package router_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/calendar"
)

// Rules are tried in order and the first that matches decides; each condition that fails is
// named.
func TestRulesExplain(t *testing.T) {
	office, err := calendar.New("Europe/Bucharest", []string{"mon-fri 09:00-18:00"}, []string{"2026-12-25"})
	require.NoError(t, err)
	rules := router.Rules{Default: "desk", List: []router.Rule{
		{Name: "harm", Patterns: []*regexp.Regexp{regexp.MustCompile(`(?i)self[- ]?exclu`)}, Helpdesk: "rg", Priority: normalize.PriorityUrgent, Tags: []string{"responsible-gambling"}},
		{Name: "frozen", AccountStatuses: []string{"suspended"}, Helpdesk: "desk", Group: "compliance"},
		{Name: "kyc", KYCStatuses: []string{"pending"}, Countries: []string{"ro"}, Helpdesk: "desk", Group: "kyc-ro"},
		{Name: "vip", MinVIP: 3, Helpdesk: "vipdesk", Group: "vip", Priority: normalize.PriorityHigh, AssignManager: true},
		{Name: "night", Hours: office, OutOfHours: true, Helpdesk: "outsourced"},
		{Name: "welcome", Player: router.PlayerNew, Helpdesk: "desk", Tags: []string{"new-player"}},
	}}
	workday := time.Date(2026, 12, 23, 10, 0, 0, 0, time.UTC) // 12:00 in Bucharest
	christmas := time.Date(2026, 12, 25, 10, 0, 0, 0, time.UTC)
	player := func(text string, au normalize.Author) normalize.Message {
		au.Role = normalize.RolePlayer
		return normalize.Message{Channel: "tg", ChannelKind: "telegram", Direction: normalize.Inbound, Text: text, Author: au}
	}
	tests := []struct {
		name     string
		facts    router.Facts
		trials   []string // "" for the rule that matched, else the failed condition
		helpdesk normalize.InstanceName
		priority normalize.Priority
		tags     []string
		assignee string
	}{
		{"a pattern", router.Facts{Message: player("I want Self-Exclusion now", normalize.Author{}), Now: workday},
			[]string{""}, "rg", normalize.PriorityUrgent, []string{"responsible-gambling"}, ""},
		{"account status", router.Facts{Message: player("hi", normalize.Author{AccountStatus: "suspended"}), Now: workday},
			[]string{`no pattern of [(?i)self[- ]?exclu] matches the text`, ""}, "desk", normalize.PriorityNormal, []string{"group:compliance"}, ""},
		{"KYC status and country", router.Facts{Message: player("hi", normalize.Author{KYCStatus: "pending", Country: "RO", Returning: true}), Now: workday},
			[]string{"no pattern", `account status ""`, ""}, "desk", normalize.PriorityNormal, []string{"group:kyc-ro"}, ""},
		{"KYC pending elsewhere is a VIP", router.Facts{Message: player("hi", normalize.Author{KYCStatus: "pending", Country: "SE", VIPTier: 4, PersonalManager: "mara"}), Now: workday},
			[]string{"no pattern", "account status", `country "SE" not in [ro]`, ""}, "vipdesk", normalize.PriorityHigh, []string{"vip", "group:vip"}, "mara"},
		{"a VIP without a manager", router.Facts{Message: player("hi", normalize.Author{VIPTier: 3}), Now: workday},
			[]string{"no pattern", "account status", `country ""`, ""}, "vipdesk", normalize.PriorityHigh, []string{"vip", "group:vip"}, ""},
		{"out of hours on a holiday", router.Facts{Message: player("hi", normalize.Author{VIPTier: 1}), Now: christmas},
			[]string{"no pattern", "account status", `country ""`, "VIP tier 1 below 3", ""}, "outsourced", normalize.PriorityHigh, []string{"vip"}, ""},
		{"a new player in hours", router.Facts{Message: player("hi", normalize.Author{}), Now: workday},
			[]string{"no pattern", "account status", `country ""`, "VIP tier", "inside business hours", ""}, "desk", normalize.PriorityNormal, []string{"new-player"}, ""},
		{"a returning player falls to the default", router.Facts{Message: player("hi", normalize.Author{Returning: true}), Now: workday},
			[]string{"no pattern", "account status", `country ""`, "VIP tier", "inside business hours", "a returning player"}, "desk", normalize.PriorityNormal, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trials, d := rules.Explain(tt.facts)
			require.Len(t, trials, len(tt.trials))
			for i, want := range tt.trials {
				require.Equal(t, i, trials[i].Rule)
				require.Equal(t, rules.List[i].Name, trials[i].Name)
				if want == "" {
					require.True(t, trials[i].Matched, "rule %d", i)
					require.Empty(t, trials[i].Failed)
					continue
				}
				require.False(t, trials[i].Matched, "rule %d", i)
				require.Contains(t, trials[i].Failed, want)
			}
			require.Equal(t, tt.helpdesk, d.Helpdesk)
			require.Equal(t, tt.priority, d.Priority)
			require.Equal(t, tt.tags, d.Tags)
			if tt.assignee == "" {
				require.Nil(t, d.Assignee)
			} else {
				require.Equal(t, &normalize.Agent{ID: tt.assignee}, d.Assignee)
			}
			require.Equal(t, tt.helpdesk, rules.Decide(tt.facts).Helpdesk)
		})
	}
}

// A rule on new players sees the first conversation at an address as new and later
// messages there as returning: the store is asked before intake.
func TestRulesNewPlayer(t *testing.T) {
	rules := router.Rules{Default: "desk", List: []router.Rule{
		{Name: "welcome", Player: router.PlayerNew, Helpdesk: "desk", Tags: []string{"new-player"}},
		{Name: "again", Player: router.PlayerReturning, Helpdesk: "desk", Tags: []string{"returning"}},
	}}
	f := newFixtureRules(t, router.Options{}, rules, false)
	require.NoError(t, f.r.Deliver(f.ctx, inbound("a", 1)))
	conv, err := f.st.ConversationAt(f.ctx, "chat", "a")
	require.NoError(t, err)
	require.Equal(t, []string{"new-player"}, conv.Tags)
	require.NoError(t, f.r.Deliver(f.ctx, inbound("a", 2)))
	conv, err = f.st.ConversationAt(f.ctx, "chat", "a")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"new-player", "returning"}, conv.Tags)
}
