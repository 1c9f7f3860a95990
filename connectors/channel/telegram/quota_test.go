package telegram

import (
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/router/store/blobs"
)

// With the gateway's attachment storage full, a player's file cannot be kept, but asking
// Telegram again would hold up every later update until room is freed: the message arrives
// naming the file and saying why, and the player's next message follows.
func TestDownloadWhenStorageIsFull(t *testing.T) {
	e := newEnv(t, nil)
	full, err := blobs.Open(t.TempDir(), blobs.Options{MaxBytes: 1 << 20, Quota: 4})
	require.NoError(t, err)
	e.ch.blobs = full
	e.fake.AddFile("kyc", "kyc.pdf", []byte("%PDF-1.7 passport"))
	e.fake.AddUpdate(document("kyc", "kyc.pdf", "application/pdf", 17))
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("still there?")})
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 2)
	require.Empty(t, got[0].Attachments)
	require.Equal(t, "[file not stored, the gateway's attachment storage is full: kyc.pdf]", got[0].Text)
	require.Equal(t, "still there?", got[1].Text)
}
