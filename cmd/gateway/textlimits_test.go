package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/normalize"
)

// The router learns each channel type's limit on a player's text from the table; a type
// without one (loopback) gets the router's default, and helpdesks have none.
func TestTextLimits(t *testing.T) {
	require.Equal(t, map[normalize.ChannelKind]int{
		"telegram": telegram.MaxInboundText,
		"webchat":  webchat.MaxTextRunes,
	}, textLimits(connectorTypes()))
	require.GreaterOrEqual(t, telegram.MaxInboundText, 4096, "Telegram's own limit")
}
