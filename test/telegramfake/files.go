package telegramfake

import (
	"net/http"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// getFile answers a file's path, or 400 "file is too big" over the 20 MB bots may download.
func (s *Server) getFile(w http.ResponseWriter, p request) {
	s.mu.Lock()
	f, ok := s.files[p.get("file_id")]
	s.mu.Unlock()
	switch {
	case !ok:
		fail(w, http.StatusBadRequest, "Bad Request: invalid file_id", 0)
	case f.size > maxDownload:
		fail(w, http.StatusBadRequest, "Bad Request: file is too big", 0)
	default:
		ok200(w, tgbotapi.File{FileID: f.id, FileUniqueID: "u" + f.id, FileSize: f.size, FilePath: f.path})
	}
}

// download serves GET /file/bot<token>/<file_path>; rest is what follows "/file/bot".
func (s *Server) download(w http.ResponseWriter, rest string) {
	token, path, ok := strings.Cut(rest, "/")
	if !ok || token != s.token {
		fail(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.path == path && f.data != nil {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(f.data)
			return
		}
	}
	fail(w, http.StatusNotFound, "Not Found", 0)
}

// AddFileAt makes data downloadable under id with filePath as getFile's file_path, verbatim:
// a test of what the bot does with a path the server should never send ("../", a query).
func (s *Server) AddFileAt(id, filePath string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[id] = file{id: id, path: filePath, name: filePath, data: data, size: len(data)}
}

// Downloads returns the request URIs of the file downloads asked for, in order, as they
// arrived (still percent-encoded, with any query).
func (s *Server) Downloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.downloads...)
}
