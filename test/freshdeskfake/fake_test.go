package freshdeskfake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// call sends a request with the fake's API key (key "" sends none) and decodes the answer.
func call(t *testing.T, s *Server, key, method, path, contentType string, body io.Reader) (*http.Response, map[string]any, []any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	require.NoError(t, err)
	if key != "" {
		req.SetBasicAuth(key, "X")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var obj map[string]any
	var list []any
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp, nil, nil
	}
	if len(raw) > 0 && raw[0] == '[' {
		require.NoError(t, json.Unmarshal(raw, &list))
	} else if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &obj), string(raw))
	}
	return resp, obj, list
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func TestErrorBodies(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	resp, obj, _ := call(t, s, "", http.MethodGet, "/api/v2/tickets", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "invalid_credentials", obj["code"])

	resp, obj, _ = call(t, s, "wrong", http.MethodGet, "/api/v2/tickets", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%v", obj)

	resp, obj, _ = call(t, s, APIKey, http.MethodPost, "/api/v2/tickets", "application/json", jsonBody(map[string]any{"subject": "x"}))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "Validation failed", obj["description"])
	require.NotEmpty(t, obj["errors"])

	resp, obj, _ = call(t, s, APIKey, http.MethodPost, "/api/v2/contacts", "application/json", jsonBody(map[string]any{"name": "A", "unique_external_id": "tg:1"}))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	id := obj["id"]
	resp, obj, _ = call(t, s, APIKey, http.MethodPost, "/api/v2/contacts", "application/json", jsonBody(map[string]any{"name": "B", "unique_external_id": "tg:1"}))
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	errs := obj["errors"].([]any)
	require.Equal(t, "duplicate_value", errs[0].(map[string]any)["code"])
	require.Equal(t, id, errs[0].(map[string]any)["additional_info"].(map[string]any)["user_id"])

	resp, _, _ = call(t, s, APIKey, http.MethodGet, "/api/v2/tickets/999", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, obj, _ = call(t, s, APIKey, http.MethodGet, "/api/v2/tickets?per_page=101", "", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v", obj)

	resp, _, _ = call(t, s, APIKey, http.MethodPost, "/api/v2/contacts", "text/plain", strings.NewReader("x"))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
}

// TestTicketsNotesAndPages: a ticket created as multipart with files and tags, notes, the
// requester's tickets with include=description, conversations paged with Link headers.
func TestTicketsNotesAndPages(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	_, contact, _ := call(t, s, APIKey, http.MethodPost, "/api/v2/contacts", "application/json", jsonBody(map[string]any{"name": "A", "email": "a@example.com"}))
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"requester_id": jsonNum(contact["id"]), "subject": "Hi", "description": "<div>hello</div>",
		"status": "2", "priority": "1", "source": "7", "custom_fields[cf_language]": "de"} {
		_ = w.WriteField(k, v)
	}
	_ = w.WriteField("tags[]", "a")
	_ = w.WriteField("tags[]", "b")
	fw, _ := w.CreateFormFile("attachments[]", "x.txt")
	_, _ = fw.Write([]byte("file content"))
	require.NoError(t, w.Close())
	resp, tk, _ := call(t, s, APIKey, http.MethodPost, "/api/v2/tickets", w.FormDataContentType(), &buf)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", tk)
	require.Equal(t, []any{"a", "b"}, tk["tags"])
	require.Equal(t, "de", tk["custom_fields"].(map[string]any)["cf_language"])
	atts := tk["attachments"].([]any)
	require.Len(t, atts, 1)
	resp, _, _ = call(t, s, "", http.MethodGet, strings.TrimPrefix(atts[0].(map[string]any)["attachment_url"].(string), s.URL), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "attachment URLs are signed: no credentials")
	id := jsonNum(tk["id"])

	for range 3 {
		resp, note, _ := call(t, s, APIKey, http.MethodPost, "/api/v2/tickets/"+id+"/notes", "application/json",
			jsonBody(map[string]any{"body": "<p>more</p>", "private": false, "incoming": true, "user_id": contact["id"]}))
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", note)
		require.Equal(t, true, note["incoming"])
		require.Equal(t, "more", note["body_text"])
	}
	resp, _, page1 := call(t, s, APIKey, http.MethodGet, "/api/v2/tickets/"+id+"/conversations?per_page=2", "", nil)
	require.Len(t, page1, 2)
	link := resp.Header.Get("Link")
	require.Contains(t, link, `rel="next"`)
	next := strings.TrimPrefix(strings.Trim(strings.Split(link, ";")[0], "<>"), s.URL)
	resp, _, page2 := call(t, s, APIKey, http.MethodGet, next, "", nil)
	require.Len(t, page2, 1)
	require.Empty(t, resp.Header.Get("Link"))

	_, _, list := call(t, s, APIKey, http.MethodGet, "/api/v2/tickets?requester_id="+jsonNum(contact["id"]), "", nil)
	require.Len(t, list, 1)
	require.Empty(t, list[0].(map[string]any)["description"], "lists carry no description unless asked")
	_, _, list = call(t, s, APIKey, http.MethodGet, "/api/v2/tickets?include=description&requester_id="+jsonNum(contact["id"]), "", nil)
	require.Equal(t, "<div>hello</div>", list[0].(map[string]any)["description"])
}

func TestRateLimitHeaders(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	s.SetRateLimit(2)
	resp, _, _ := call(t, s, APIKey, http.MethodGet, "/api/v2/tickets", "", nil)
	require.Equal(t, "2", resp.Header.Get("X-RateLimit-Total"))
	require.Equal(t, "1", resp.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, "1", resp.Header.Get("X-RateLimit-Used-CurrentRequest"))
	call(t, s, APIKey, http.MethodGet, "/api/v2/tickets", "", nil)
	resp, obj, _ := call(t, s, APIKey, http.MethodGet, "/api/v2/tickets", "", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	require.NotEmpty(t, obj["message"])
}

// TestWebhookHeader: the notification carries the configured custom header and the ticket.
func TestWebhookHeader(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	var got http.Header
	var body map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&body)
	}))
	t.Cleanup(hook.Close)
	s.SetWebhook(hook.URL, "X-Secret", "s3cret", false)
	_, contact, _ := call(t, s, APIKey, http.MethodPost, "/api/v2/contacts", "application/json", jsonBody(map[string]any{"name": "A", "unique_external_id": "x"}))
	_, tk, _ := call(t, s, APIKey, http.MethodPost, "/api/v2/tickets", "application/json", jsonBody(map[string]any{"requester_id": contact["id"],
		"subject": "s", "description": "d", "status": 2, "priority": 1}))
	require.NoError(t, s.Notify(int64(tk["id"].(float64))))
	require.Equal(t, "s3cret", got.Get("X-Secret"))
	require.Equal(t, jsonNum(tk["id"]), body["ticket_id"])
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
