package hdkit

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

type nopSink struct{}

func (nopSink) Deliver(context.Context, ...normalize.Message) error { return nil }

func TestDeliver(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ok := func(context.Context, connectors.Sink) error { return nil }
	cases := []struct {
		name    string
		running bool
		sync    func(context.Context, connectors.Sink) error
		want    int
		stored  bool
	}{
		{"not running", false, ok, http.StatusServiceUnavailable, false},
		{"stored", true, ok, http.StatusOK, true},
		{"sync failed", true, func(context.Context, connectors.Sink) error { return errors.New("API down") }, http.StatusServiceUnavailable, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var slot connectors.SinkSlot
			if c.running {
				release, err := slot.Fill(t.Context(), nopSink{})
				require.NoError(t, err)
				defer release()
			}
			rec := httptest.NewRecorder()
			got := Deliver(rec, httptest.NewRequest(http.MethodPost, "/hooks/x", nil), &slot, log, c.sync)
			require.Equal(t, c.stored, got)
			require.Equal(t, c.want, rec.Code, rec.Body.String())
		})
	}
}
