package webchat

import (
	"encoding/json"
	"net/http"
	"strings"
)

// errorBody is the JSON of every HTTP error answer, with the same codes as error frames.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

// writeFrameError answers with the HTTP status that fits a refusal's code.
func writeFrameError(w http.ResponseWriter, e *frameError) {
	status := map[string]int{
		codeInvalidToken: http.StatusUnauthorized, codeInvalidPlayer: http.StatusUnauthorized,
		codeRateLimited: http.StatusTooManyRequests, codeUnavailable: http.StatusServiceUnavailable,
		codeRejected: http.StatusUnprocessableEntity, codeNotFound: http.StatusNotFound,
		codeTooLarge: http.StatusRequestEntityTooLarge, codeUnsupported: http.StatusUnsupportedMediaType,
		codeStorageFull: http.StatusInsufficientStorage,
	}[e.Code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "5")
	}
	writeError(w, status, e.Code, e.Message)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status is sent; a client that went away cannot be told anything more.
	_ = json.NewEncoder(w).Encode(v)
}

// bearer returns the visitor token of an API request: the Authorization header, or for
// downloads (which an <img> or <a> cannot give headers) the token query parameter.
func bearer(r *http.Request, queryOK bool) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	if queryOK {
		return r.URL.Query().Get("token")
	}
	return ""
}
