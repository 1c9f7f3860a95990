package hdkit

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// refusingSink refuses the events whose external IDs it holds, with err.
type refusingSink struct {
	refuse map[normalize.ExternalID]error
	got    []normalize.ExternalID
}

func (s *refusingSink) Deliver(_ context.Context, msgs ...normalize.Message) error {
	for _, m := range msgs {
		if err := s.refuse[m.ExternalID]; err != nil {
			return err
		}
	}
	for _, m := range msgs {
		s.got = append(s.got, m.ExternalID)
	}
	return nil
}

func TestEventKind(t *testing.T) {
	require.Equal(t, EventReply, EventKind(normalize.Message{Text: "hi"}))
	require.Equal(t, EventStatus, EventKind(normalize.Message{Status: normalize.StatusClosed}))
	require.Equal(t, EventAssignment, EventKind(normalize.Message{Assignee: &normalize.Agent{}}))
}

func TestDeliverEvents(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	msgs := []normalize.Message{{ExternalID: "1"}, {ExternalID: "2"}, {ExternalID: "3", Status: normalize.StatusClosed}}
	tests := []struct {
		name    string
		refuse  map[normalize.ExternalID]error
		wantErr string
		got     []normalize.ExternalID
		counted []string
	}{
		{"all stored", nil, "", []normalize.ExternalID{"1", "2", "3"}, []string{EventReply, EventReply, EventStatus}},
		{"one refused for good is passed over", map[normalize.ExternalID]error{"2": connectors.Permanent(errors.New("bad"))}, "",
			[]normalize.ExternalID{"1", "3"}, []string{EventReply, EventReply, EventStatus}},
		{"a failing store stops the ticket", map[normalize.ExternalID]error{"2": errors.New("store down")},
			"zendesk: deliver the events of ticket 7 (1 of 3 stored): store down", []normalize.ExternalID{"1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &refusingSink{refuse: tt.refuse}
			var counted []string
			err := DeliverEvents(t.Context(), sink, log, "zendesk", "zd", "c1", 7, msgs, func(m normalize.Message) { counted = append(counted, EventKind(m)) })
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.got, sink.got)
			require.Equal(t, tt.counted, counted)
		})
	}
}
