package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// maxDownload is the largest file the Bot API lets a bot download.
const maxDownload = 20 << 20

// fetch downloads a file into the blob store. A file that can never be fetched (over 20 MB,
// gone, over the blob store's limit) is not an error: it returns problem, a note for the
// message's text, so the message is still delivered. err is for what a retry may fix.
func (c *Channel) fetch(ctx context.Context, f fileRef) (att normalize.Attachment, problem string, err error) {
	tooLarge := fmt.Sprintf("[file too large to fetch: %s, %s]", f.name, humanSize(f.size))
	if f.size > maxDownload {
		return att, tooLarge, nil
	}
	file, err := c.api(ctx, c.client).GetFile(tgbotapi.FileConfig{FileID: f.id})
	if err != nil {
		code, _ := apiError(nil, err)
		switch {
		case strings.Contains(strings.ToLower(err.Error()), "file is too big"):
			return att, tooLarge, nil
		case code >= 400 && code < 500 && code != http.StatusTooManyRequests:
			c.log.Warn("telegram: file not available", "file", f.name, "err", c.redact(err))
			return att, fmt.Sprintf("[file could not be fetched: %s]", f.name), nil
		}
		return att, "", fmt.Errorf("telegram: getFile %s: %w", f.name, c.redact(err))
	}
	// Built from our own api_url: the library's FileEndpoint is hard-coded to api.telegram.org.
	// The URL holds the token, so it is never stored, logged or returned.
	url := c.apiURL + "/file/bot" + c.token + "/" + strings.TrimLeft(file.FilePath, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return att, "", fmt.Errorf("telegram: download %s: %w", f.name, c.redact(err))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return att, "", fmt.Errorf("telegram: download %s: %w", f.name, c.redact(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		c.log.Warn("telegram: file download refused", "file", f.name, "status", resp.StatusCode)
		return att, fmt.Sprintf("[file could not be fetched: %s]", f.name), nil
	default:
		return att, "", fmt.Errorf("telegram: download %s: HTTP %d", f.name, resp.StatusCode)
	}
	body := &limitedReader{r: resp.Body, left: maxDownload}
	att, err = c.blobs.Put(ctx, body, f.name, f.mediaType)
	switch {
	case errors.Is(err, connectors.ErrTooLarge) || body.exceeded:
		return normalize.Attachment{}, tooLarge, nil
	case err != nil:
		return att, "", fmt.Errorf("telegram: store %s: %w", f.name, c.redact(err))
	}
	return att, "", nil
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
