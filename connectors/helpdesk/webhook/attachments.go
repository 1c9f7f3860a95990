package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
)

// shaPattern is a lower-case hex SHA-256, the only thing the link names.
var shaPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// attachmentURL returns the signed link to the blob with digest sum, valid for
// attachment_url_ttl: the operator's system downloads without credentials, and a leaked link
// stops working.
func (h *Helpdesk) attachmentURL(sum string) string {
	exp := strconv.FormatInt(h.now().Add(h.cfg.AttachmentURLTTL).Unix(), 10)
	q := url.Values{"exp": {exp}, "sig": {hex.EncodeToString(h.linkMAC(sum, exp))}}
	return h.publicURL + "/hooks/" + url.PathEscape(string(h.name)) + "/attachments/" + sum + "?" + q.Encode()
}

// linkMAC is HMAC-SHA256(secret, sha256 + "." + exp).
func (h *Helpdesk) linkMAC(sum, exp string) []byte {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(sum + "." + exp))
	return m.Sum(nil)
}

// serveAttachment streams the blob behind a signed link: 403 for a wrong or expired signature
// (checked before the blob store is touched), 404 for a blob that is gone.
func (h *Helpdesk) serveAttachment(w http.ResponseWriter, r *http.Request) {
	sum, exp := r.PathValue("sha"), r.URL.Query().Get("exp")
	sig, err := hex.DecodeString(r.URL.Query().Get("sig"))
	secs, perr := strconv.ParseInt(exp, 10, 64)
	valid := err == nil && perr == nil && shaPattern.MatchString(sum) && hmac.Equal(sig, h.linkMAC(sum, exp))
	if !valid || h.now().Unix() > secs {
		writeError(w, http.StatusForbidden, "invalid or expired link")
		return
	}
	if h.blobs == nil {
		writeError(w, http.StatusNotFound, "no attachment store")
		return
	}
	rc, err := h.blobs.Open(r.Context(), "sha256:"+sum)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			writeError(w, http.StatusNotFound, "attachment not found")
			return
		}
		h.log.Error("open attachment", "sha256", sum, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read attachment")
		return
	}
	defer rc.Close()
	// The media type is in the event, not in the link: serving one chosen by whoever holds the
	// link could turn the gateway's origin into a host for their HTML.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Warn("stream attachment", "sha256", sum, "err", err)
	}
}
