package inbox

import (
	"context"
	"encoding/json"

	"github.com/casino-support/gateway/normalize"
)

// With several replicas (Deps.Notices), an agent's open list may be served by one replica
// while another takes in the player's message or the reply of another agent. Each change is
// told to this replica's event streams directly and, as a notice, to the other replicas,
// which tell theirs.

// changeNotice is a change as one replica tells the others.
type changeNotice struct {
	// Replica told its own streams already.
	Replica string `json:"replica"`
	// Conv changed; "" means several did, and every page refetches.
	Conv normalize.ConversationID `json:"conv,omitempty"`
}

func (i *Inbox) noticeTopic() string {
	return "inbox/" + string(i.name)
}

// changed tells the open pages of every replica that convs changed.
func (i *Inbox) changed(ctx context.Context, convs ...normalize.ConversationID) {
	for _, c := range convs {
		i.events.publish(c)
	}
	if i.deps.Notices == nil || len(convs) == 0 {
		return
	}
	n := changeNotice{Replica: i.replica}
	if len(convs) == 1 {
		n.Conv = convs[0]
	}
	payload, _ := json.Marshal(n) // two strings
	if err := i.deps.Notices.Publish(ctx, i.noticeTopic(), string(payload)); err != nil {
		// A hint: the pages of other replicas also refresh on a timer.
		i.log.Warn("change not passed to the other replicas", "conv", n.Conv, "err", err)
	}
}

// heard tells this replica's streams of another replica's change.
func (i *Inbox) heard(payload string) {
	if payload == "" {
		// Notices may have been lost: every page refetches.
		i.events.publish("")
		return
	}
	var n changeNotice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		i.log.Warn("notice from another replica not understood", "err", err)
		return
	}
	if n.Replica != i.replica {
		i.events.publish(n.Conv)
	}
}
