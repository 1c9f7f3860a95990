package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

// maxDownload is the largest file the Bot API lets a bot download.
const maxDownload = 20 << 20

// fetch downloads a file into the blob store. A file that can never be fetched (over 20 MB,
// gone, over the blob store's limit, at a path that is not a file's) or not stored for now
// (the blob store's quota is reached) is not an error: it returns problem, a note for the
// message's text, so the message is still delivered. A file fetched but not to be shown
// inline comes with note, for the text. err is for what a retry may fix.
func (c *Channel) fetch(ctx context.Context, f fileRef) (att normalize.Attachment, note, problem string, err error) {
	tooLarge := fmt.Sprintf("[file too large to fetch: %s, %s]", f.name, humanSize(f.size))
	if f.size > maxDownload {
		return att, "", tooLarge, nil
	}
	file, err := c.api(ctx, c.client).GetFile(tgbotapi.FileConfig{FileID: f.id})
	if err != nil {
		code, _ := apiError(nil, err)
		switch {
		case strings.Contains(strings.ToLower(err.Error()), "file is too big"):
			return att, "", tooLarge, nil
		case code >= 400 && code < 500 && code != http.StatusTooManyRequests:
			c.log.Warn("telegram: file not available", "file", f.name, "err", c.redact(err))
			return att, "", fmt.Sprintf("[file could not be fetched: %s]", f.name), nil
		}
		return att, "", "", fmt.Errorf("telegram: getFile %s: %w", f.name, c.redact(err))
	}
	filePath, err := fileURLPath(file.FilePath)
	if err != nil {
		// Asking again brings the same path: the file is named instead.
		c.log.Warn("telegram: file path refused", "file", f.name, "err", err)
		return att, "", fmt.Sprintf("[file could not be fetched: %s]", f.name), nil
	}
	// Built from our own api_url: the library's FileEndpoint is hard-coded to api.telegram.org.
	// The URL holds the token, so it is never stored, logged or returned.
	url := c.apiURL + "/file/bot" + c.token + "/" + filePath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return att, "", "", fmt.Errorf("telegram: download %s: %w", f.name, c.redact(err))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return att, "", "", fmt.Errorf("telegram: download %s: %w", f.name, c.redact(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		c.log.Warn("telegram: file download refused", "file", f.name, "status", resp.StatusCode)
		return att, "", fmt.Sprintf("[file could not be fetched: %s]", f.name), nil
	default:
		return att, "", "", fmt.Errorf("telegram: download %s: HTTP %d", f.name, resp.StatusCode)
	}
	body := &limitedReader{r: resp.Body, left: maxDownload}
	// An image declaring gigapixels would take down the browser that shows it inline, but
	// refusing it would lose what the player sent: it is kept as a plain file to download.
	mediaType := f.mediaType
	content, imgErr := media.CheckImage(body, mediaType)
	if imgErr != nil {
		mediaType = "application/octet-stream"
		note = fmt.Sprintf("[image not shown inline, attached as a file: %s: %v]", f.name, imgErr)
		c.log.Warn("telegram: image kept as a file, not shown inline", "file", f.name, "err", imgErr)
	}
	att, err = c.blobs.Put(ctx, content, f.name, mediaType)
	switch {
	case errors.Is(err, connectors.ErrTooLarge) || body.exceeded:
		return normalize.Attachment{}, "", tooLarge, nil
	case errors.Is(err, connectors.ErrQuota):
		// Retrying would hold up every later update until room is freed: the message goes on,
		// and the agent can ask for the file again.
		return normalize.Attachment{}, "", fmt.Sprintf("[file not stored, the gateway's attachment storage is full: %s]", f.name), nil
	case err != nil:
		return att, "", "", fmt.Errorf("telegram: store %s: %w", f.name, c.redact(err))
	}
	return att, note, "", nil
}

// fileURLPath checks getFile's file_path and escapes it for the download URL. The path comes
// from the Bot API server (api_url may name any server) and follows the token in the URL: one
// that climbs out of /file/bot<token>/ ("..") or brings a query or a fragment would make the
// gateway request something else with its token. Telegram's paths are relative, such as
// "documents/file_12.pdf": anything else is refused.
func fileURLPath(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("file_path is empty")
	case len(p) > 1024:
		return "", fmt.Errorf("file_path of %d bytes", len(p))
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("file_path %q is absolute", p)
	case strings.ContainsAny(p, `\?#`):
		return "", fmt.Errorf("file_path %q has a backslash, query or fragment", p)
	case !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl):
		return "", fmt.Errorf("file_path %q has control characters or invalid UTF-8", p)
	}
	segments := strings.Split(p, "/")
	for i, s := range segments {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("file_path %q has an empty, . or .. segment", p)
		}
		segments[i] = url.PathEscape(s)
	}
	return strings.Join(segments, "/"), nil
}

// limitedReader fails after left bytes instead of truncating silently, so an oversized body
// is never stored as a shorter file.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.exceeded = true
			return 0, fmt.Errorf("file over %d bytes: %w", maxDownload, connectors.ErrTooLarge)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// humanSize prints a byte count for people; 0 means Telegram did not say.
func humanSize(n int64) string {
	switch {
	case n <= 0:
		return "size unknown"
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
