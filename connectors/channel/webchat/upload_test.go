package webchat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// minimalPDF is a valid one-page PDF.
var minimalPDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

func smallPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// upload posts a multipart form with client_id, an optional caption and the file.
func (h *harness) upload(t *testing.T, token, clientID, name, contentType string, body []byte, caption string) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("client_id", clientID))
	if caption != "" {
		require.NoError(t, mw.WriteField("text", caption))
	}
	hdr := map[string][]string{
		"Content-Disposition": {fmt.Sprintf(`form-data; name="file"; filename=%q`, name)},
		"Content-Type":        {contentType},
	}
	part, err := mw.CreatePart(hdr)
	require.NoError(t, err)
	_, err = part.Write(body)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/chat/api/upload", &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func (h *harness) download(t *testing.T, path, token string, header bool) (*http.Response, []byte) {
	t.Helper()
	u := h.srv.URL + path
	if token != "" && !header {
		u += "?token=" + url.QueryEscape(token)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if header {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func errorCode(t *testing.T, body []byte) (string, string) {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal(body, &e), "body %s", body)
	return e.Error.Code, e.Error.Message
}

func TestUploadRefusals(t *testing.T) {
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), bytes.Repeat([]byte{0}, 100)...)
	html := []byte("<!doctype html><html><script>alert(1)</script></html>")
	tests := []struct {
		name    string
		file    string
		ctype   string
		body    []byte
		status  int
		code    string
		message string
	}{
		{"oversized", "scan.pdf", "application/pdf", append(append([]byte{}, minimalPDF...), bytes.Repeat([]byte("x"), 64<<10)...),
			http.StatusRequestEntityTooLarge, codeTooLarge, "The file is too large; the limit is 64 KB."},
		{"oversized far beyond the form allowance", "scan.pdf", "application/pdf", bytes.Repeat([]byte("%PDF-"), 40<<10),
			http.StatusRequestEntityTooLarge, codeTooLarge, "too large"},
		{"HTML named .pdf", "passport.pdf", "application/pdf", html, http.StatusUnsupportedMediaType, codeUnsupported,
			"This file type is not accepted (it looks like web page (HTML)). You can send: PNG image, JPEG image, GIF image, WebP image, PDF document."},
		{"EXE named .pdf", "passport.pdf", "application/pdf", exe, http.StatusUnsupportedMediaType, codeUnsupported, "unknown or program file"},
		{"empty", "empty.pdf", "application/pdf", nil, http.StatusBadRequest, codeEmpty, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, true)
			status, body := h.upload(t, visitorToken("v1", time.Now().Add(time.Hour)), "u-1", tt.file, tt.ctype, tt.body, "")
			require.Equal(t, tt.status, status, "body %s", body)
			code, message := errorCode(t, body)
			require.Equal(t, tt.code, code)
			require.Contains(t, message, tt.message)
			require.Empty(t, h.store.attempts(), "nothing may be delivered")
		})
	}
}

func TestUploadNeedsAValidToken(t *testing.T) {
	h := start(t, nil, true)
	for _, token := range []string{"", "forged.token", visitorToken("v1", time.Now().Add(-time.Minute))} {
		status, body := h.upload(t, token, "u-1", "passport.pdf", "application/pdf", minimalPDF, "")
		require.Equal(t, http.StatusUnauthorized, status)
		code, _ := errorCode(t, body)
		require.Equal(t, codeInvalidToken, code)
	}
	status, _ := h.upload(t, visitorToken("v1", time.Now().Add(time.Hour)), "bad:id", "passport.pdf", "application/pdf", minimalPDF, "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Empty(t, h.store.attempts())
}

func TestUploadIsRateLimited(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.MessagesPerMinute = 1 }, true)
	token := visitorToken("v1", time.Now().Add(time.Hour))
	status, _ := h.upload(t, token, "u-1", "a.pdf", "application/pdf", minimalPDF, "")
	require.Equal(t, http.StatusOK, status)
	status, body := h.upload(t, token, "u-2", "b.pdf", "application/pdf", minimalPDF, "")
	require.Equal(t, http.StatusTooManyRequests, status)
	code, _ := errorCode(t, body)
	require.Equal(t, codeRateLimited, code)
	require.Len(t, h.store.attempts(), 1)
}

func TestUploadDeliversAndOnlyTheOwnerDownloads(t *testing.T) {
	pngBytes := smallPNG(t)
	tests := []struct {
		name      string
		file      string
		ctype     string // what the client claims; never trusted
		body      []byte
		caption   string
		kind      normalize.MessageKind
		mediaType string
		stored    string
	}{
		{"PDF", "passport.pdf", "application/pdf", minimalPDF, "my passport", normalize.KindDocument, "application/pdf", "passport.pdf"},
		{"PNG with a wrong name and type", `C:\Users\me\shot.pdf`, "application/pdf", pngBytes, "", normalize.KindImage, "image/png", "shot.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, true)
			owner := visitorToken("v1", time.Now().Add(time.Hour))
			c := h.connect(t)
			c.hello(clientFrame{Token: owner})

			status, body := h.upload(t, owner, "u-1", tt.file, tt.ctype, tt.body, tt.caption)
			require.Equal(t, http.StatusOK, status, "body %s", body)
			var resp uploadResponse
			require.NoError(t, json.Unmarshal(body, &resp))
			require.Equal(t, "u-1", resp.ClientID)

			got := h.store.delivered()
			require.Len(t, got, 1)
			m := got[0]
			require.Equal(t, string(m.ID), resp.ID)
			require.Equal(t, tt.kind, m.Kind)
			require.Equal(t, tt.caption, m.Text)
			require.Equal(t, normalize.ExternalID("visitor:v1:u-1"), m.ExternalID)
			require.Len(t, m.Attachments, 1)
			att := m.Attachments[0]
			require.Equal(t, tt.mediaType, att.MediaType)
			require.Equal(t, tt.stored, att.Name)
			require.Equal(t, int64(len(tt.body)), att.Size)
			require.NotEmpty(t, att.BlobRef)

			// The other open tab of the same visitor is told.
			echo := c.next()
			require.Equal(t, "u-1", echo.ClientID)
			require.Len(t, echo.Attachments, 1)
			path := echo.Attachments[0].URL
			require.Equal(t, fmt.Sprintf("/chat/api/attachments/%s/0", m.ID), path)

			for _, header := range []bool{false, true} {
				res, content := h.download(t, path, owner, header)
				require.Equal(t, http.StatusOK, res.StatusCode)
				require.Equal(t, tt.body, content)
				require.Equal(t, tt.mediaType, res.Header.Get("Content-Type"))
				require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
				require.Equal(t, fmt.Sprintf("attachment; filename=%s", tt.stored), res.Header.Get("Content-Disposition"))
			}

			stranger := visitorToken("v2", time.Now().Add(time.Hour))
			res, _ := h.download(t, path, stranger, false)
			require.Equal(t, http.StatusNotFound, res.StatusCode, "another visitor must not read a KYC document")
			res, _ = h.download(t, path, "", false)
			require.Equal(t, http.StatusUnauthorized, res.StatusCode)
			res, _ = h.download(t, path, signToken([]byte("forged-secret-0123456789"), claims{Visitor: "v1", Exp: time.Now().Add(time.Hour).Unix()}), false)
			require.Equal(t, http.StatusUnauthorized, res.StatusCode)
			res, _ = h.download(t, fmt.Sprintf("/chat/api/attachments/%s/1", m.ID), owner, false)
			require.Equal(t, http.StatusNotFound, res.StatusCode)

			// The resent upload (lost answer) is the same message to the store.
			status, _ = h.upload(t, owner, "u-1", tt.file, tt.ctype, tt.body, tt.caption)
			require.Equal(t, http.StatusOK, status)
			require.Len(t, h.store.delivered(), 1)
		})
	}
}

func TestAttachmentsOfNotesAreNotServed(t *testing.T) {
	h := start(t, nil, true)
	att, err := h.ch.blobs.Put(t.Context(), bytes.NewReader(minimalPDF), "internal.pdf", "application/pdf")
	require.NoError(t, err)
	h.store.mu.Lock()
	note := normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Address: "visitor:v1",
		Kind: normalize.KindNote, Attachments: []normalize.Attachment{att}}
	h.store.add(note)
	html := normalize.Message{ID: normalize.NewMessageID(), Direction: normalize.Outbound, Address: "visitor:v1",
		Kind: normalize.KindDocument, Attachments: []normalize.Attachment{{Name: "page.html", MediaType: "text/html", BlobRef: att.BlobRef, Size: att.Size}}}
	h.store.add(html)
	h.store.mu.Unlock()
	owner := visitorToken("v1", time.Now().Add(time.Hour))
	res, _ := h.download(t, fmt.Sprintf("/chat/api/attachments/%s/0", note.ID), owner, false)
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	// An agent's HTML attachment is served as bytes to download, never as a page.
	res, _ = h.download(t, fmt.Sprintf("/chat/api/attachments/%s/0", html.ID), owner, false)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "application/octet-stream", res.Header.Get("Content-Type"))
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "sandbox")
}

func TestUploadsCanBeSwitchedOff(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.UploadTypes = []string{} }, true)
	status, body := h.upload(t, visitorToken("v1", time.Now().Add(time.Hour)), "u-1", "passport.pdf", "application/pdf", minimalPDF, "")
	require.Equal(t, http.StatusUnsupportedMediaType, status)
	_, message := errorCode(t, body)
	require.Equal(t, "This chat does not accept attachments.", message)
	require.Empty(t, h.store.attempts())
}
