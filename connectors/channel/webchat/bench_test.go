package webchat

import "testing"

// BenchmarkParseClientFrame is the per-message cost of reading a player's chat frame off the
// WebSocket: JSON decoding and the checks of every field.
func BenchmarkParseClientFrame(b *testing.B) {
	data := []byte(`{"type":"message","client_id":"3f2a9c1e-7b4d-4e8a","text":"Hallo, meine Auszahlung von 250 EUR hängt seit gestern, können Sie nachsehen?"}`)
	for b.Loop() {
		if _, ferr := parseClientFrame(data); ferr != nil {
			b.Fatalf("refused: %+v", ferr)
		}
	}
}
