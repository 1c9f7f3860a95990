package hdkit

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestWithMarker(t *testing.T) {
	require.Equal(t, "[gateway-message-id: m1]", WithMarker("", "m1"))
	require.Equal(t, "[gateway-message-id: m1]", WithMarker("\n\n", "m1"))
	require.Equal(t, "hi\n\n[gateway-message-id: m1]", WithMarker("hi\n", "m1"))
	id := normalize.NewMessageID()
	got, ok := MarkedID(WithMarker("hello", id))
	require.True(t, ok)
	require.Equal(t, id, got)
}

func TestMarkedIDOnlyAsTheLastLine(t *testing.T) {
	tests := []struct {
		name, text string
		want       normalize.MessageID
	}{
		{"the gateway's post", "hi\n\n[gateway-message-id: m1]", "m1"},
		{"marker only", "[gateway-message-id: m-2.b_c]", "m-2.b_c"},
		{"trailing blanks and CRLF", "hi\r\n\r\n[gateway-message-id: m1]\r\n \n", "m1"},
		{"indented", "hi\n  [gateway-message-id: m1]  ", "m1"},
		{"quoted", "thanks\n> [gateway-message-id: m1]", ""},
		{"quoted then a reply", "> [gateway-message-id: m1]\nwe credited it", ""},
		{"reply above the quote", "We credited it.\n\nOn Mon, player wrote:\n> where is my withdrawal?\n>\n> [gateway-message-id: m1]\n", ""},
		{"quote indented", "Done.\n  > [gateway-message-id: m1]", ""},
		{"nested quote", "Done.\n>> [gateway-message-id: m1]", ""},
		{"marker mid-text", "hi\n[gateway-message-id: m1]\nthanks", ""},
		{"inside a line", "see [gateway-message-id: m1] above", ""},
		{"no space", "[gateway-message-id:m1]", ""},
		{"foreign characters", "[gateway-message-id: m1 x]", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MarkedID(tt.text)
			require.Equal(t, tt.want != "", ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMarkersAnywhere(t *testing.T) {
	tests := []struct {
		name, text string
		want       []normalize.MessageID
	}{
		{"none", "just text", nil},
		{"quoted and own", "> [gateway-message-id: ma]\n[gateway-message-id: mb]", []normalize.MessageID{"ma", "mb"}},
		{"inside a line", "see [gateway-message-id: m0a-1.b_c] above", []normalize.MessageID{"m0a-1.b_c"}},
		{"no space", "[gateway-message-id:m1]", nil},
		{"empty id", "[gateway-message-id: ]", nil},
		{"other tag", "[gateway-conversation-id: c1]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, Markers(tt.text)) })
	}
}
