package webchat

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/casino-support/gateway/connectors"
)

// The long-poll fallback, for networks that break WebSockets (some corporate proxies, some
// mobile carriers): POST {path}/api/send takes one client frame and answers with the frames a
// WebSocket would have sent back; GET {path}/api/poll?after=<cursor> waits for pushed frames.
// Both carry the visitor token as "Authorization: Bearer", except hello, which carries it in
// the frame like on the WebSocket.

// sendResponse answers POST /api/send.
type sendResponse struct {
	Frames []any `json:"frames"`
	// Cursor is where to start polling; set in answer to a hello.
	Cursor int64 `json:"cursor,omitempty"`
}

// pollResponse answers GET /api/poll.
type pollResponse struct {
	Frames []json.RawMessage `json:"frames"`
	Cursor int64             `json:"cursor"`
	// Reset tells the page that frames may have been missed (it fell behind, the mailbox
	// expired, the server restarted): say hello again to reload the history, then poll from
	// the new cursor.
	Reset bool `json:"reset,omitempty"`
}

func (c *Channel) serveSend(w http.ResponseWriter, r *http.Request) {
	if !c.origins.check(r) {
		refuseOrigin(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFrameBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "frame over "+strconv.Itoa(maxFrameBytes)+" bytes")
			return
		}
		writeError(w, http.StatusBadRequest, codeBadRequest, "could not read the frame")
		return
	}
	f, ferr := parseClientFrame(body)
	if ferr != nil {
		writeJSON(w, http.StatusOK, sendResponse{Frames: []any{ferr.frame()}})
		return
	}
	client := connectors.ClientKey(r)
	if f.Type == typeHello {
		id, ferr := c.identify(f, client)
		if ferr != nil {
			writeJSON(w, http.StatusOK, sendResponse{Frames: []any{ferr.frame()}})
			return
		}
		// The mailbox exists before the history loads, so no reply falls between them.
		cursor := c.hub.cursor(id.address())
		welcome, ferr := c.welcome(r.Context(), id)
		if ferr != nil {
			writeJSON(w, http.StatusOK, sendResponse{Frames: []any{ferr.frame()}})
			return
		}
		writeJSON(w, http.StatusOK, sendResponse{Frames: []any{welcome}, Cursor: cursor})
		return
	}
	s, ferr := c.authenticate(bearer(r, false), client)
	if ferr != nil {
		writeJSON(w, http.StatusOK, sendResponse{Frames: []any{ferr.frame()}})
		return
	}
	resp := sendResponse{Frames: []any{}}
	if out := c.handle(r.Context(), s, f, nil); out != nil {
		resp.Frames = append(resp.Frames, out)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (c *Channel) servePoll(w http.ResponseWriter, r *http.Request) {
	if !c.origins.check(r) {
		refuseOrigin(w, r)
		return
	}
	s, ferr := c.authenticate(bearer(r, false), connectors.ClientKey(r))
	if ferr != nil {
		writeFrameError(w, ferr)
		return
	}
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "after: want the cursor of the last answer")
		return
	}
	// A waiting poll holds a connection like a WebSocket does; the page backs off from the
	// refusal (any answer but 200 makes it reconnect later).
	if reason := c.conns.acquire(s.client); reason != "" {
		writeFrameError(w, c.refuse(reason, s.client, s.addr, ""))
		return
	}
	defer c.conns.release(s.client)
	// A poll ends with Run, as the WebSockets do, so the page moves to whoever serves next.
	// It is answered "unavailable" rather than empty: an empty answer is polled again at
	// once, which would spin while the server stays up, whereas this makes the page back off.
	var stopped <-chan struct{}
	if _, runCtx, ok := c.run.Held(); ok {
		stopped = runCtx.Done()
	}
	timer := time.NewTimer(c.pollWait)
	defer timer.Stop()
	for {
		frames, cursor, reset, wake := c.hub.take(s.addr, after)
		if reset || len(frames) > 0 {
			if frames == nil {
				frames = []json.RawMessage{}
			}
			writeJSON(w, http.StatusOK, pollResponse{Frames: frames, Cursor: cursor, Reset: reset})
			return
		}
		if stopped == nil {
			writeFrameError(w, unavailable(""))
			return
		}
		select {
		case <-stopped:
			writeFrameError(w, unavailable(""))
			return
		case <-wake:
		case <-timer.C:
			writeJSON(w, http.StatusOK, pollResponse{Frames: []json.RawMessage{}, Cursor: cursor})
			return
		case <-r.Context().Done():
			return
		}
	}
}
