package inbox

import (
	"context"
	"net/http"

	"github.com/casino-support/gateway/normalize"
)

// change is an agent's change of a conversation from a form of the thread page: a status
// change, a complex flag.
type change struct {
	// prefix starts the message's dedup key, before the form's token.
	prefix string
	// failed is what the agent reads when the sink did not take the change.
	failed string
	// fill completes the system message: what it changes, and its text naming agent.
	fill func(m *normalize.Message, agent string)
	// done runs once the sink took it.
	done func(ctx context.Context, conv normalize.ConversationID)
}

// deliverChange hands c to the sink the way every helpdesk's change reaches the gateway: as
// a system message, which the store applies to the conversation in the same transaction that
// stores it and keeps in the thread in order. The form's token makes a form submitted twice
// one change. Then the thread shows again.
func (i *Inbox) deliverChange(w http.ResponseWriter, r *http.Request, s session, c change) {
	ctx := r.Context()
	conv, err := i.ownConversation(ctx, r.PathValue("id"))
	if err != nil {
		i.conversationError(w, s, err)
		return
	}
	token := r.PostFormValue("token")
	if !tokenPattern.MatchString(token) {
		token = randomToken()
	}
	msg := normalize.Message{
		Direction:    normalize.Outbound,
		Source:       i.name,
		ExternalID:   normalize.ExternalID(c.prefix + "-" + token),
		Conversation: conv.ID,
		Author:       agentAuthor(s),
		Kind:         normalize.KindSystem,
		SentAt:       i.now().UTC(),
	}
	c.fill(&msg, firstNonEmpty(s.DisplayName, s.Agent))
	sink, err := i.currentSink()
	if err == nil {
		err = sink.Deliver(ctx, msg)
	}
	if err != nil {
		i.log.Error("deliver an agent's change", "conv", conv.ID, "change", c.prefix, "err", err)
		i.renderError(w, s, http.StatusServiceUnavailable, c.failed)
		return
	}
	c.done(ctx, conv.ID)
	i.changed(ctx, conv.ID)
	http.Redirect(w, r, i.threadURL(conv.ID), http.StatusSeeOther)
}

// handleFlagComplex is the thread's "Flag complex" button: the store tags the conversation
// complex and starts its escalation clock to the senior group (docs/policy.md, "SLA").
func (i *Inbox) handleFlagComplex(w http.ResponseWriter, r *http.Request, s session) {
	i.deliverChange(w, r, s, change{prefix: "flag", failed: "The case could not be flagged; please try again.",
		fill: func(m *normalize.Message, agent string) {
			m.Complex, m.Text = true, "Flagged as a complex case by "+agent+"."
		},
		done: func(_ context.Context, conv normalize.ConversationID) {
			i.log.Info("conversation flagged complex", "conv", conv, "agent", s.Agent)
		}})
}
