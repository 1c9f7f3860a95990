package webchat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/media"
	"github.com/casino-support/gateway/normalize"
)

const (
	// uploadOverhead allows for the multipart envelope around the file: boundaries, part
	// headers, the client_id and caption fields.
	uploadOverhead = 64 << 10
	// sniffLen is what http.DetectContentType looks at.
	sniffLen = 512
)

// uploadResponse answers a stored and delivered upload, like an ack.
type uploadResponse struct {
	ClientID string      `json:"client_id"`
	ID       string      `json:"id"`
	Message  wireMessage `json:"message"`
}

// serveUpload takes one attachment (a screenshot, a KYC document) as multipart/form-data with
// the fields client_id (first), optional text (a caption) and file. The media type is sniffed
// from the content, never taken from the client; the file is stored, then delivered as one
// message, and only then answered 200.
func (c *Channel) serveUpload(w http.ResponseWriter, r *http.Request) {
	if !c.origins.check(r) {
		refuseOrigin(w, r)
		return
	}
	s, ferr := c.authenticate(bearer(r, false), connectors.ClientKey(r))
	if ferr != nil {
		writeFrameError(w, ferr)
		return
	}
	if r.ContentLength > c.maxUpload+uploadOverhead {
		writeFrameError(w, c.tooLarge())
		return
	}
	// A declared length over the address's remaining budget is refused before a byte is read;
	// without one, acceptFile meters the file as it arrives.
	if r.ContentLength > 0 && float64(r.ContentLength) > c.limits.uploadBytes.tokens(s.client, c.now()) {
		writeFrameError(w, c.refuse(reasonUploadBytes, s.client, s.addr, ""))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, c.maxUpload+uploadOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "want multipart/form-data with the fields client_id and file")
		return
	}
	var clientID, caption string
	for {
		part, err := mr.NextPart()
		if err != nil {
			if isMaxBytes(err) {
				writeFrameError(w, c.tooLarge())
				return
			}
			writeError(w, http.StatusBadRequest, codeBadRequest, "no file in the form (want the fields client_id and file)")
			return
		}
		switch part.FormName() {
		case "client_id":
			clientID = readField(part, maxClientIDLen+1)
			if !clientIDPattern.MatchString(clientID) {
				writeError(w, http.StatusBadRequest, codeBadRequest, "client_id: want 1 to 64 letters, digits, - or _")
				return
			}
		case "text":
			text, ferr := cleanText(readField(part, maxFrameBytes))
			if ferr != nil {
				writeFrameError(w, ferr)
				return
			}
			caption = text
		case "file":
			if clientID == "" {
				writeError(w, http.StatusBadRequest, codeBadRequest, "client_id must come before file in the form")
				return
			}
			c.acceptFile(w, r, s, clientID, caption, part)
			return
		}
	}
}

// acceptFile checks, stores and delivers the file part.
func (c *Channel) acceptFile(w http.ResponseWriter, r *http.Request, s session, clientID, caption string, part *multipart.Part) {
	if ferr := c.admit(s, clientID); ferr != nil {
		writeFrameError(w, ferr)
		return
	}
	in := c.meter(s.client, part)
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(in, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		if isMaxBytes(err) {
			writeFrameError(w, c.tooLarge())
			return
		}
		if errors.Is(err, errUploadBudget) {
			writeFrameError(w, c.refuse(reasonUploadBytes, s.client, s.addr, clientID))
			return
		}
		writeError(w, http.StatusBadRequest, codeBadRequest, "could not read the file")
		return
	}
	if n == 0 {
		writeError(w, http.StatusBadRequest, codeEmpty, "The file is empty.")
		return
	}
	head = head[:n]
	mediaType := media.Sniff(head)
	if !c.uploadTypes[mediaType] {
		c.log.Info("upload refused: type not accepted", "conv", s.addr, "detected", mediaType)
		msg := "This chat does not accept attachments."
		if len(c.uploadTypes) > 0 {
			msg = fmt.Sprintf("This file type is not accepted (it looks like %s). You can send: %s.", media.Name(mediaType), c.acceptedTypes())
		}
		writeFrameError(w, &frameError{Code: codeUnsupported, ClientID: clientID, Message: msg})
		return
	}
	body := &capped{r: io.MultiReader(bytes.NewReader(head), in), left: c.maxUpload}
	// An image declaring gigapixels would take down the agent's browser that shows it; the
	// player is here to be told, and sends a smaller one.
	checked, imgErr := media.CheckImage(body, mediaType)
	if imgErr != nil {
		c.log.Info("upload refused: image too large to show", "conv", s.addr, "err", imgErr)
		writeFrameError(w, &frameError{Code: codeImageTooLarge, ClientID: clientID,
			Message: "This image cannot be sent: " + imgErr.Error() + ". Please send a smaller picture or a screenshot."})
		return
	}
	att, err := c.blobs.Put(r.Context(), checked, media.FileName(part.FileName(), mediaType), mediaType)
	if err != nil {
		if errors.Is(err, errUploadBudget) {
			writeFrameError(w, c.refuse(reasonUploadBytes, s.client, s.addr, clientID))
			return
		}
		if errors.Is(err, connectors.ErrQuota) {
			// The blob store logged that it is full; the player did nothing wrong.
			writeFrameError(w, storageFull(clientID))
			return
		}
		if errors.Is(err, connectors.ErrTooLarge) || isMaxBytes(err) {
			writeFrameError(w, c.tooLarge())
			return
		}
		c.log.Error("upload not stored", "conv", s.addr, "err", err)
		writeFrameError(w, unavailable(clientID))
		return
	}
	m := c.newMessage(s, clientID)
	m.Kind = normalize.KindDocument
	if strings.HasPrefix(mediaType, "image/") {
		m.Kind = normalize.KindImage
	}
	m.Text = caption
	m.Attachments = []normalize.Attachment{att}
	if ferr := c.deliver(r.Context(), s, clientID, m, nil); ferr != nil {
		writeFrameError(w, ferr)
		return
	}
	view, _ := c.view(m)
	view.State = string(normalize.StateQueued)
	writeJSON(w, http.StatusOK, uploadResponse{ClientID: clientID, ID: string(m.ID), Message: view})
}

// storageFull refuses a file that the gateway's attachment storage has no room for: it is not
// too large, and may be sent once room is freed.
func storageFull(clientID string) *frameError {
	return &frameError{Code: codeStorageFull, ClientID: clientID,
		Message: "The file was not sent: the chat's attachment storage is full. Please try again later, or write your message without it."}
}

func (c *Channel) tooLarge() *frameError {
	return &frameError{Code: codeTooLarge, Message: fmt.Sprintf("The file is too large; the limit is %s.", media.FormatBytes(c.maxUpload))}
}

func (c *Channel) acceptedTypes() string {
	names := make([]string, 0, len(c.cfg.UploadTypes))
	for _, t := range c.cfg.UploadTypes {
		names = append(names, media.Name(t))
	}
	return strings.Join(names, ", ")
}

// capped fails with ErrTooLarge once more than left bytes were read, so the blob store
// discards the content instead of keeping a file over the limit.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, fmt.Errorf("upload: %w", connectors.ErrTooLarge)
	}
	return n, err
}

func isMaxBytes(err error) bool {
	_, ok := errors.AsType[*http.MaxBytesError](err)
	return ok
}

// readField reads a small form field; longer values are cut at max and then refused by the
// caller's validation.
func readField(part *multipart.Part, max int) string {
	b, _ := io.ReadAll(io.LimitReader(part, int64(max)))
	return string(b)
}
