package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
)

// TestAutoRepliesConfig: auto_replies builds the rules and texts it names, none without
// rules, and its errors name the key at fault, for serve and check-config alike.
func TestAutoRepliesConfig(t *testing.T) {
	const head = "listen: 127.0.0.1:0\ndata_dir: data\n"
	tests := []struct {
		name string
		yaml string
		want string // an error's words; "" for none
		none bool
	}{
		{"none without rules", "auto_replies: {wait: 10s}\n", "", true},
		{"rules and an own language", `auto_replies:
  hours: {timezone: Europe/Bucharest, weekly: ["mon-fri 09:00-18:00"]}
  rules:
    - {kinds: [webchat], acknowledgement: true, out_of_hours: true}
    - {min_vip: 2, acknowledgement: true, hours: {timezone: UTC, weekly: ["mon-sun 00:00-24:00"]}}
  texts:
    nl: {acknowledgement: "Bedankt.", acknowledgement_ticket: "Bedankt ({ticket}).", out_of_hours: "Tot {opens}."}
`, "", false},
		{"an unknown zone", "auto_replies:\n  hours: {timezone: Mars/Olympus}\n  rules: [{out_of_hours: true}]\n", "auto_replies.hours: timezone", false},
		{"a rule's bad hours", "auto_replies:\n  rules: [{out_of_hours: true, hours: {timezone: UTC, weekly: [\"mon 18:00-09:00\"]}}]\n",
			"auto_replies.rules[0].hours: weekly[0]", false},
		{"out_of_hours without hours", "auto_replies:\n  rules: [{out_of_hours: true}]\n", "auto_replies.rules[0].hours", false},
		{"an unknown channel type", "auto_replies:\n  rules: [{kinds: [fax], acknowledgement: true}]\n", "auto_replies.rules[0].kinds[0]", false},
		{"a text without its placeholder", "auto_replies:\n  rules: [{acknowledgement: true}]\n  texts:\n    ro: {acknowledgement_ticket: \"Mulțumim!\"}\n",
			"auto_replies.texts.ro.acknowledgement_ticket: must hold {ticket}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(head+tt.yaml), t.TempDir(), fakeEnv(nil), catalog(connectorTypes()))
			if err == nil {
				replies, berr := autoReplies(cfg, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err = berr; err == nil {
					require.Equal(t, tt.none, replies == nil)
					require.Equal(t, !tt.none, replies != nil && replies.Acknowledges(normalize.Conversation{ChannelKind: normalize.KindWebchat}))
				}
			}
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
