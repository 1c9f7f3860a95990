package webhook_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func noContentServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, link string) (int, string) {
	t.Helper()
	resp, err := http.Get(link)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestAttachmentLinks(t *testing.T) {
	e := newEnv(t, nil)
	start := time.Now().Truncate(time.Second)
	e.clock.Set(start)
	att, err := e.blobs.Put(t.Context(), strings.NewReader("PNG bytes"), "shot.png", "image/png")
	require.NoError(t, err)
	conv, msgs := conversation(1)
	msgs[0].Kind, msgs[0].Attachments = normalize.KindImage, []normalize.Attachment{att}
	_, _, err = e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)

	got := e.recv.Events()[1].Event.Message.Attachments
	require.Len(t, got, 1)
	require.Equal(t, att.SHA256, got[0].SHA256)
	require.Equal(t, "image/png", got[0].MediaType)
	link := got[0].URL
	require.True(t, strings.HasPrefix(link, e.gateway.URL+"/hooks/"+testName+"/attachments/"+att.SHA256+"?"), link)

	status, body := get(t, link)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "PNG bytes", body)

	u, err := url.Parse(link)
	require.NoError(t, err)
	tamper := func(key, value string) string {
		v := *u
		q := v.Query()
		q.Set(key, value)
		v.RawQuery = q.Encode()
		return v.String()
	}
	sig := u.Query().Get("sig")
	flipped := "0"
	if sig[0] == '0' {
		flipped = "1"
	}
	other := strings.Replace(link, att.SHA256, strings.Repeat("a", 64), 1)
	for name, l := range map[string]string{
		"tampered signature":   tamper("sig", flipped+sig[1:]),
		"extended expiry":      tamper("exp", "99999999999"),
		"other blob, same sig": other,
		"no signature":         tamper("sig", ""),
	} {
		status, _ := get(t, l)
		require.Equal(t, http.StatusForbidden, status, name)
	}

	e.clock.Set(start.Add(59 * time.Minute))
	status, _ = get(t, link)
	require.Equal(t, http.StatusOK, status, "valid until the TTL ends")
	e.clock.Set(start.Add(time.Hour + time.Second))
	status, _ = get(t, link)
	require.Equal(t, http.StatusForbidden, status, "expired")
}

// An e-mail's inline images reach the operator with the Content-ID its HTML names them by
// (the receiver checks the event against the contract); other files carry none.
func TestAttachmentsCarryTheirContentID(t *testing.T) {
	e := newEnv(t, nil)
	shot, err := e.blobs.Put(t.Context(), strings.NewReader("PNG bytes"), "cashier.png", "image/png")
	require.NoError(t, err)
	shot.ContentID = "part1.Kq3xV0bN@player.example"
	pdf, err := e.blobs.Put(t.Context(), strings.NewReader("%PDF-1.4"), "statement.pdf", "application/pdf")
	require.NoError(t, err)
	conv, msgs := conversation(1)
	conv.ChannelKind = normalize.KindEmail
	msgs[0].HTML = `<p>the cashier:</p><img src="cid:part1.Kq3xV0bN@player.example">`
	msgs[0].Attachments = []normalize.Attachment{shot, pdf}
	_, _, err = e.hd.Post(t.Context(), conv, deliveries(msgs, 1))
	require.NoError(t, err)

	got := e.recv.Events()[1].Event.Message
	require.Equal(t, msgs[0].HTML, got.HTML)
	require.Len(t, got.Attachments, 2)
	require.Equal(t, "part1.Kq3xV0bN@player.example", got.Attachments[0].ContentID)
	require.Equal(t, shot.SHA256, got.Attachments[0].SHA256)
	require.Empty(t, got.Attachments[1].ContentID)
}
