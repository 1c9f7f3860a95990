package webhook

import (
	"fmt"
	"net/http"
)

// FlagComplex is the one flag conversation.flagged takes.
const FlagComplex = "complex"

// acceptFlag stores an agent's flag of a conversation as a system message: "complex" starts
// the case's escalation clock (router/store, slastages.go). Deduplicated on event_id like a
// status change.
func (h *Helpdesk) acceptFlag(w http.ResponseWriter, r *http.Request, ev InEvent) {
	if ev.Flag != FlagComplex {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("flag: want %q, got %q", FlagComplex, ev.Flag))
		return
	}
	msg, ok := h.change(w, ev, "flag", "flag")
	if !ok {
		return
	}
	msg.Complex = true
	msg.Text = "Flagged as a complex case in the ticket system."
	h.deliver(w, r, msg, Answer{Status: "stored"})
}
