package inbox

import (
	"net/http"
	"net/url"
	"slices"
	"time"
)

// listView is the conversation list page.
type listView struct {
	common
	Filter   string
	Channel  string
	Player   string
	Search   string
	Channels []channelOption
	Statuses []statusLink
	ClearURL string // the same status without channel, player and search; empty when none is set
	Rows     []rowView
}

// statusLink is one of the status tabs; it keeps the channel and the search.
type statusLink struct {
	ID     string
	Label  string
	URL    string
	Active bool
}

// rowView is one conversation in the list.
type rowView struct {
	ID          string
	URL         string
	Player      string
	ChannelKind string
	Channel     string
	PlayerID    string
	PlayerURL   string // the list of the player's conversations; empty without PlayerID
	Language    string
	VIPTier     int
	Preview     string
	PreviewFrom string
	PreviewBy   string
	Waiting     string // empty when nothing waits
	SLA         string
	SLAClass    string
	Status      string
	UpdatedAt   time.Time
}

// handleList shows the conversations with the newest activity first, filtered by status and
// optionally by channel, player ID and a search. With ?partial=1 it answers only the list, for the page's
// live refresh, which asks with the page's own query and so keeps its filters.
func (i *Inbox) handleList(w http.ResponseWriter, r *http.Request, s session) {
	query := r.URL.Query()
	q := listQuery{Status: parseFilter(query.Get("status")), Channel: query.Get("channel"),
		Player: playerQuery(query.Get("player")), Search: searchQuery(query.Get("q"))}
	tickets, err := i.listTickets(r.Context(), q)
	var channels []channelOption
	if err == nil {
		channels, err = i.listChannels(r.Context())
	}
	if err != nil {
		i.log.Error("list conversations", "err", err)
		i.renderError(w, s, http.StatusInternalServerError, "The inbox cannot read its database right now.")
		return
	}
	if q.Channel != "" && !slices.ContainsFunc(channels, func(c channelOption) bool { return c.Name == q.Channel }) {
		// A link to a channel with nothing left in it still shows which channel it asks for.
		channels = append(channels, channelOption{Name: q.Channel})
	}
	now := i.now()
	rows := make([]rowView, 0, len(tickets))
	for _, t := range tickets {
		rows = append(rows, i.row(t, now))
	}
	v := listView{
		common: i.commonFor(s, "Conversations"),
		Filter: string(q.Status), Channel: q.Channel, Player: q.Player, Search: q.Search, Channels: channels, Rows: rows,
	}
	for _, st := range []struct {
		f     statusFilter
		label string
	}{{filterOpen, "Open"}, {filterClosed, "Closed"}, {filterAll, "All"}} {
		v.Statuses = append(v.Statuses, statusLink{ID: "filter-" + string(st.f), Label: st.label,
			URL: i.listURL(listQuery{Status: st.f, Channel: q.Channel, Player: q.Player, Search: q.Search}), Active: st.f == q.Status})
	}
	if q.Channel != "" || q.Player != "" || q.Search != "" {
		v.ClearURL = i.listURL(listQuery{Status: q.Status})
	}
	i.render(w, "list", query.Get("partial") != "", http.StatusOK, v)
}

// listURL is the address of the list showing q.
func (i *Inbox) listURL(q listQuery) string {
	v := url.Values{"status": {string(q.Status)}}
	if q.Channel != "" {
		v.Set("channel", q.Channel)
	}
	if q.Player != "" {
		v.Set("player", q.Player)
	}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	return i.cfg.Path + "/?" + v.Encode()
}

func (i *Inbox) row(t ticket, now time.Time) rowView {
	state := computeSLA(now, t.FirstUnansweredAt, i.firstResponse(t))
	v := rowView{
		ID: string(t.Conv), URL: i.cfg.Path + "/conversations/" + url.PathEscape(string(t.Conv)),
		Player: firstNonEmpty(t.PlayerName, "Player"), ChannelKind: t.ChannelKind, Channel: t.Channel,
		Language: t.Language, VIPTier: t.VIPTier, Preview: t.Preview, PreviewFrom: t.PreviewFrom, PreviewBy: t.PreviewBy,
		SLA: string(state), SLAClass: state.class(), Status: string(t.Status), UpdatedAt: t.UpdatedAt,
		PlayerID: t.PlayerID,
	}
	if t.PlayerID != "" {
		v.PlayerURL = i.playerListURL(t.PlayerID)
	}
	if !t.FirstUnansweredAt.IsZero() {
		v.Waiting = humanDuration(now.Sub(t.FirstUnansweredAt))
	}
	return v
}
