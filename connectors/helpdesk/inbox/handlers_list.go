package inbox

import (
	"net/http"
	"net/url"
	"time"
)

// listView is the conversation list page.
type listView struct {
	common
	Filter string
	Rows   []rowView
}

// rowView is one conversation in the list.
type rowView struct {
	ID          string
	URL         string
	Player      string
	ChannelKind string
	Channel     string
	Language    string
	VIPTier     int
	Waiting     string // empty when nothing waits
	SLA         string
	SLAClass    string
	Status      string
	UpdatedAt   time.Time
}

// handleList shows the conversations with the newest activity first, filtered by status.
// With ?partial=1 it answers only the list, for the page's live refresh.
func (i *Inbox) handleList(w http.ResponseWriter, r *http.Request, s session) {
	f := parseFilter(r.URL.Query().Get("status"))
	tickets, err := i.listTickets(r.Context(), f)
	if err != nil {
		i.log.Error("list conversations", "err", err)
		i.renderError(w, s, http.StatusInternalServerError, "The inbox cannot read its database right now.")
		return
	}
	now := i.now()
	rows := make([]rowView, 0, len(tickets))
	for _, t := range tickets {
		rows = append(rows, i.row(t, now))
	}
	i.render(w, "list", r.URL.Query().Get("partial") != "", http.StatusOK, listView{
		common: common{Base: i.cfg.Path, Title: "Conversations", Agent: s.DisplayName, CSRF: s.CSRF},
		Filter: string(f), Rows: rows,
	})
}

func (i *Inbox) row(t ticket, now time.Time) rowView {
	state := computeSLA(now, t.FirstUnansweredAt, i.firstResponse(t))
	v := rowView{
		ID: string(t.Conv), URL: i.cfg.Path + "/conversations/" + url.PathEscape(string(t.Conv)),
		Player: firstNonEmpty(t.PlayerName, "Player"), ChannelKind: t.ChannelKind, Channel: t.Channel,
		Language: t.Language, VIPTier: t.VIPTier, SLA: string(state), SLAClass: state.class(),
		Status: string(t.Status), UpdatedAt: t.UpdatedAt,
	}
	if !t.FirstUnansweredAt.IsZero() {
		v.Waiting = humanDuration(now.Sub(t.FirstUnansweredAt))
	}
	return v
}
