// Package adminapi serves the operator's admin API under /api/v1: conversations, messages,
// dead letters and their replay. Every request needs the configured bearer token.
package adminapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
)

// Store is what the admin API reads and changes.
type Store interface {
	Conversations(ctx context.Context, limit int, after store.ConversationsCursor) ([]normalize.Conversation, error)
	Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error)
	Messages(ctx context.Context, conv normalize.ConversationID, afterSeq int64, limit int) ([]store.StoredMessage, error)
	DeadLetters(ctx context.Context, afterSeq int64, limit int) ([]store.StoredMessage, error)
	Replay(ctx context.Context, conv normalize.ConversationID) (int, error)
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

// API is the admin API handler.
type API struct {
	store Store
	token string
	log   *slog.Logger
	mux   *http.ServeMux
}

// New returns the API. With an empty token every request is refused: the admin API exposes
// players' messages and must never be open by accident.
func New(st Store, token string, log *slog.Logger) *API {
	a := &API{store: st, token: token, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/v1/conversations", a.listConversations)
	a.mux.HandleFunc("GET /api/v1/conversations/{id}", a.getConversation)
	a.mux.HandleFunc("GET /api/v1/conversations/{id}/messages", a.listMessages)
	a.mux.HandleFunc("GET /api/v1/dead-letters", a.listDeadLetters)
	a.mux.HandleFunc("POST /api/v1/dead-letters/replay", a.replay)
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.token == "" {
		writeError(w, http.StatusUnauthorized, "admin API is disabled: set admin.token in the configuration")
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gateway admin"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request) {
	limit, _, ok := page(w, r, "")
	if !ok {
		return
	}
	var before store.ConversationsCursor
	if s := r.URL.Query().Get("before"); s != "" {
		var err error
		if before, err = parseConversationsCursor(s); err != nil {
			writeError(w, http.StatusBadRequest, "before must be the next_before of the previous page")
			return
		}
	}
	convs, err := a.store.Conversations(r.Context(), limit, before)
	if a.failed(w, err) {
		return
	}
	resp := map[string]any{"conversations": nonNil(convs)}
	if len(convs) == limit {
		last := convs[len(convs)-1]
		resp["next_before"] = fmt.Sprintf("%d.%s", last.UpdatedAt.UnixMilli(), last.ID)
	}
	writeJSON(w, http.StatusOK, resp)
}

// parseConversationsCursor reads a next_before: "<updated_at millis>.<conversation id>".
func parseConversationsCursor(s string) (store.ConversationsCursor, error) {
	ms, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || n < 0 || id == "" {
		return store.ConversationsCursor{}, fmt.Errorf("bad cursor %q", s)
	}
	return store.ConversationsCursor{UpdatedAt: n, ID: normalize.ConversationID(id)}, nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Conversation(r.Context(), normalize.ConversationID(r.PathValue("id")))
	if a.failed(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := page(w, r, "after")
	if !ok {
		return
	}
	id := normalize.ConversationID(r.PathValue("id"))
	if _, err := a.store.Conversation(r.Context(), id); a.failed(w, err) {
		return
	}
	msgs, err := a.store.Messages(r.Context(), id, after, limit)
	if a.failed(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, pageOf("messages", msgs, limit))
}

func (a *API) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := page(w, r, "after")
	if !ok {
		return
	}
	msgs, err := a.store.DeadLetters(r.Context(), after, limit)
	if a.failed(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, pageOf("dead_letters", msgs, limit))
}

type replayRequest struct {
	Conversation normalize.ConversationID `json:"conversation"`
	All          bool                     `json:"all"`
}

func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {\"conversation\": \"ID\"} or {\"all\": true}: "+err.Error())
		return
	}
	if (req.Conversation == "") == !req.All {
		writeError(w, http.StatusBadRequest, "give exactly one of conversation or all")
		return
	}
	n, err := a.store.Replay(r.Context(), req.Conversation)
	if a.failed(w, err) {
		return
	}
	a.log.Info("dead letters replayed", "conv", req.Conversation, "count", n)
	writeJSON(w, http.StatusOK, map[string]int{"replayed": n})
}

func page(w http.ResponseWriter, r *http.Request, cursor string) (limit int, from int64, ok bool) {
	limit = defaultLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			writeError(w, http.StatusBadRequest, "limit must be an integer from 1 to 500")
			return 0, 0, false
		}
		limit = n
	}
	if s := r.URL.Query().Get(cursor); cursor != "" && s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, cursor+" must be a non-negative integer")
			return 0, 0, false
		}
		from = n
	}
	return limit, from, true
}

func pageOf(key string, msgs []store.StoredMessage, limit int) map[string]any {
	resp := map[string]any{key: nonNil(msgs)}
	if len(msgs) == limit {
		resp["next_after"] = msgs[len(msgs)-1].Seq
	}
	return resp
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (a *API) failed(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found")
	default:
		a.log.Error("admin API", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
