package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// encodeBatch must give what json.Marshal gives, byte for byte: the signature covers the body.
func TestEncodeBatchIsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 12, 7, 18, 30, 0, 123456789, time.UTC)
	ev := func(id, text string) json.RawMessage {
		b, err := json.Marshal(OutEvent{Event: EventMessageCreated, ID: id, CreatedAt: at,
			Message: &Message{ID: id, Text: text}})
		require.NoError(t, err)
		return b
	}
	for name, events := range map[string][]json.RawMessage{
		"one":        {ev("m1", "hello")},
		"two":        {ev("m1", "hello"), ev("m2", "<b>\"quoted\" & \u2028 ünïcode</b>")},
		"none":       {},
		"escaped id": {ev("m\"3", "x")},
	} {
		batch := OutBatch{Event: EventBatch, ID: "b-\"1\"<", CreatedAt: at, Events: events}
		want, err := json.Marshal(batch)
		require.NoError(t, err, name)
		got, err := encodeBatch(batch)
		require.NoError(t, err, name)
		require.Equal(t, string(want), string(got), name)
	}
}

// BenchmarkEncodeBatch: an events.batch of 20 events, against json.Marshal's encoding.
func BenchmarkEncodeBatch(b *testing.B) {
	at := time.Now().UTC()
	events := make([]json.RawMessage, 20)
	for i := range events {
		e, err := json.Marshal(OutEvent{Event: EventMessageCreated, ID: "m", CreatedAt: at,
			Message: &Message{ID: "m", Text: "Hello, I made a deposit an hour ago and it is still not in my balance."}})
		if err != nil {
			b.Fatal(err)
		}
		events[i] = e
	}
	batch := OutBatch{Event: EventBatch, ID: "b", CreatedAt: at, Events: events}
	b.Run("encodeBatch", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeBatch(batch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(batch); err != nil {
				b.Fatal(err)
			}
		}
	})
}
