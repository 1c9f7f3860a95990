package wamsg

import (
	"context"
	"testing"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// BenchmarkMessage is the per-message cost of the WhatsApp channel's conversion of a
// player's text.
func BenchmarkMessage(b *testing.B) {
	c := converter(newMemBlobs())
	in := Inbound{ID: "wamid.HBgLNDkxNzAxMjM0NTY3FQIAEhggQjQ", From: "491701234567", Name: "Jana", Time: time.Now(),
		Kind: normalize.KindText, Text: "Hallo, meine Auszahlung von 250 EUR hängt seit gestern, können Sie nachsehen?"}
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Message(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
