package whatsappfake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	phoneNumberID = "106540352242922"
	token         = "EAAG-fake-test"
)

func newFake(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := New(Options{PhoneNumberID: phoneNumberID, AccessToken: token, AppSecret: "secret"})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// call makes a Graph API request and returns the status and the decoded JSON answer.
func call(t *testing.T, srv *httptest.Server, method, path, auth, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return resp.StatusCode, out
}

func errorCode(t *testing.T, body map[string]any) float64 {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	require.True(t, ok, "an error body: %v", body)
	for _, k := range []string{"message", "type", "code", "fbtrace_id"} {
		require.Contains(t, e, k, "Meta's error bodies always have %s", k)
	}
	return e["code"].(float64)
}

// The signature of Meta's scheme, checked against a vector published with an independent
// implementation (the whatsapp_sdk Elixir library's compute_signature("test", "secret")).
func TestSignature(t *testing.T) {
	require.Equal(t, "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914", Signature("secret", []byte("test")))
}

func TestEveryRequestNeedsTheToken(t *testing.T) {
	_, srv := newFake(t)
	for _, auth := range []string{"", "wrong"} {
		status, body := call(t, srv, http.MethodGet, "/v21.0/"+phoneNumberID, auth, "", nil)
		require.Equal(t, http.StatusUnauthorized, status)
		require.EqualValues(t, 190, errorCode(t, body))
	}
	status, body := call(t, srv, http.MethodGet, "/v21.0/"+phoneNumberID, token, "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, phoneNumberID, body["id"])
}

func TestSendsKeepToTheWindow(t *testing.T) {
	s, srv := newFake(t)
	text := func(to string) (int, map[string]any) {
		return call(t, srv, http.MethodPost, "/v21.0/"+phoneNumberID+"/messages", token, "application/json",
			strings.NewReader(`{"messaging_product":"whatsapp","to":"`+to+`","type":"text","text":{"body":"hi"}}`))
	}
	status, body := text("491701234567")
	require.Equal(t, http.StatusBadRequest, status, "the player never wrote")
	require.EqualValues(t, 131047, errorCode(t, body))

	s.MessageNotification(Incoming{From: "491701234567", Text: "hello", Time: time.Now().Add(-25 * time.Hour)})
	status, _ = text("491701234567")
	require.Equal(t, http.StatusBadRequest, status, "the player wrote 25 hours ago")

	s.MessageNotification(Incoming{From: "491701234567", Text: "hello again"})
	status, body = text("491701234567")
	require.Equal(t, http.StatusOK, status)
	wamid := body["messages"].([]any)[0].(map[string]any)["id"].(string)
	require.True(t, strings.HasPrefix(wamid, "wamid."))
	require.Equal(t, []Sent{{ID: wamid, To: "491701234567", Type: "text", Text: "hi", At: s.Sent("")[0].At}}, s.Sent("491701234567"))

	status, _ = call(t, srv, http.MethodPost, "/v21.0/"+phoneNumberID+"/messages", token, "application/json",
		strings.NewReader(`{"messaging_product":"whatsapp","to":"447911123456","type":"template","template":{"name":"hello","language":{"code":"en"}}}`))
	require.Equal(t, http.StatusOK, status, "a template goes at any time")
}

func TestMediaUploadAndDownload(t *testing.T) {
	s, srv := newFake(t)
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	require.NoError(t, w.WriteField("messaging_product", "whatsapp"))
	require.NoError(t, w.WriteField("type", "application/pdf"))
	part, err := w.CreateFormFile("file", "terms.pdf")
	require.NoError(t, err)
	_, _ = part.Write([]byte("%PDF-1.4"))
	require.NoError(t, w.Close())
	status, body := call(t, srv, http.MethodPost, "/v21.0/"+phoneNumberID+"/media", token, w.FormDataContentType(), &b)
	require.Equal(t, http.StatusOK, status)
	id := body["id"].(string)

	status, info := call(t, srv, http.MethodGet, "/v21.0/"+id, token, "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "application/pdf", info["mime_type"])
	require.Equal(t, "8", info["file_size"], "Meta gives the size as a string")
	url := strings.TrimPrefix(info["url"].(string), srv.URL)
	status, _ = call(t, srv, http.MethodGet, url, "", "", nil)
	require.Equal(t, http.StatusUnauthorized, status, "the media URL wants the token too")

	req, _ := http.NewRequest(http.MethodGet, info["url"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	content, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "%PDF-1.4", string(content))

	status, body = call(t, srv, http.MethodGet, "/v21.0/"+s.AddMedia("image/png", nil)+"0", token, "", nil)
	require.Equal(t, http.StatusBadRequest, status, "an unknown media ID")
	require.EqualValues(t, 100, errorCode(t, body))
}

func TestDeliverSendsAgainUntilAnswered200(t *testing.T) {
	s, _ := newFake(t)
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		require.Equal(t, Signature("secret", body), r.Header.Get("X-Hub-Signature-256"))
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(hook.Close)
	s.SetHookURL(hook.URL)
	body, id := s.MessageNotification(Incoming{From: "491701234567", Text: "hi"})
	require.NoError(t, s.Deliver(t.Context(), body, id))
	require.EqualValues(t, 3, calls.Load())
	require.Equal(t, 3, s.Attempts(id))
	require.True(t, s.Acknowledged(id))
}

func TestFail(t *testing.T) {
	s, srv := newFake(t)
	s.Fail("phone", http.StatusInternalServerError, 131000, "(#131000) Something went wrong")
	status, body := call(t, srv, http.MethodGet, "/v21.0/"+phoneNumberID, token, "", nil)
	require.Equal(t, http.StatusInternalServerError, status)
	require.EqualValues(t, 131000, errorCode(t, body))
	status, _ = call(t, srv, http.MethodGet, "/v21.0/"+phoneNumberID, token, "", nil)
	require.Equal(t, http.StatusOK, status, "a fault is used once")
}
