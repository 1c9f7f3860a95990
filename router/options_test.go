package router

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

type plainChannel struct{ connectors.Channel }

type buttonChannel struct{ connectors.Channel }

func (buttonChannel) ShowsQuickReplies() bool { return true }

// Quick replies reach a channel with buttons as they are; a channel without them gets the
// options listed under the text, for the player to type.
func TestQuickRepliesWhereTheChannelCannotShowThem(t *testing.T) {
	m := normalize.Message{Text: "Tap Forgot password.", QuickReplies: []string{"That helped", "Talk to an agent"}}
	tests := []struct {
		name string
		ch   connectors.Channel
		want normalize.Message
	}{
		{"buttons", buttonChannel{}, m},
		{"text", plainChannel{}, normalize.Message{Text: "Tap Forgot password.\n• That helped\n• Talk to an agent"}},
		{"none", plainChannel{}, normalize.Message{Text: "hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := m
			if tt.name == "none" {
				in = normalize.Message{Text: "hi"}
			}
			require.Equal(t, tt.want, withOptions(tt.ch, in))
		})
	}
}
