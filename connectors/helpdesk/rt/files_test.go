package rt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
	blobstore "github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/hugeimage"
)

// The parts below are shaped as RT 5.0.3 lists them for a correspondence made through REST2
// (GET /transaction/:id/attachments?fields=ContentType,Filename,Headers).
func TestIsFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		part attachment
		want bool
	}{
		{"multipart container", attachment{ContentType: "multipart/mixed",
			Headers: "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"----------=_1795332727-16110-6\"\nContent-Length: 0"}, false},
		{"text/plain body", attachment{ContentType: "text/plain",
			Headers: "Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: binary\nContent-Disposition: inline\nContent-Length: 46"}, false},
		{"text/html body", attachment{ContentType: "text/html",
			Headers: "Content-Disposition: inline\nContent-Type: text/html; charset=\"utf-8\"\nContent-Length: 25"}, false},
		{"PDF", attachment{ContentType: "application/pdf", Filename: "KYC form.pdf",
			Headers: "Content-Disposition: inline; filename=\"KYC form.pdf\"\nContent-Type: application/pdf; name=\"KYC form.pdf\""}, true},
		{"text file", attachment{ContentType: "text/plain", Filename: "notes.txt",
			Headers: "Content-Type: text/plain; charset=\"utf-8\"; name=\"notes.txt\"\nContent-Disposition: inline; filename=\"notes.txt\""}, true},
		{"unnamed part marked as attachment", attachment{ContentType: "application/octet-stream",
			Headers: "Content-Type: application/octet-stream\nContent-Disposition: attachment"}, true},
		{"folded disposition", attachment{ContentType: "image/png",
			Headers: "Content-Type: image/png\nContent-Disposition:\n attachment"}, true},
		{"no headers", attachment{ContentType: "text/plain"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, isFile(tc.part)) })
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ filename, want string }{
		{"KYC form.pdf", "KYC form.pdf"},
		{"Kontoauszug-März.pdf", "Kontoauszug-März.pdf"},
		{`C:\Users\agent\scan.png`, "scan.png"},
		{"../../etc/passwd", "passwd"},
		{"", "attachment-42"},
		{"dir/", "attachment-42"},
	} {
		t.Run(tc.filename, func(t *testing.T) {
			require.Equal(t, tc.want, fileName(attachment{ID: "42", Filename: tc.filename}))
		})
	}
}

func TestReplyKind(t *testing.T) {
	pdf := normalize.Attachment{MediaType: "application/pdf"}
	img := normalize.Attachment{MediaType: "image/png"}
	for _, tc := range []struct {
		name string
		text string
		atts []normalize.Attachment
		want normalize.MessageKind
	}{
		{"text only", "hello", nil, normalize.KindText},
		{"text and files", "see attached", []normalize.Attachment{img, pdf}, normalize.KindText},
		{"an image", "", []normalize.Attachment{img}, normalize.KindImage},
		{"a document first", "", []normalize.Attachment{pdf, img}, normalize.KindDocument},
		{"nothing", "", nil, normalize.KindText},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, replyKind(tc.text, tc.atts)) })
	}
}

// TestFiles runs files against a stand-in RT that answers GET /attachment/7 as the case says:
// what can never be sent is named, what may work later is an error.
func TestFiles(t *testing.T) {
	content := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n%%EOF\n")
	ok := func(w http.ResponseWriter) {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 7, "Content": base64.StdEncoding.EncodeToString(content)})
	}
	part := attachment{ID: "7", ContentType: "application/pdf", Filename: "KYC.pdf", ContentLength: "20"}
	for _, tc := range []struct {
		name      string
		answer    func(w http.ResponseWriter)
		blobs     *memBlobs
		stored    bool
		line      string
		transient bool
	}{
		{name: "stored", answer: ok, blobs: &memBlobs{}, stored: true},
		{name: "over the limit", answer: ok, blobs: &memBlobs{max: 5}, line: "[file too large to send: KYC.pdf]"},
		{name: "gone from RT", answer: func(w http.ResponseWriter) { http.Error(w, "{}", http.StatusNotFound) },
			blobs: &memBlobs{}, line: "[file could not be sent: KYC.pdf]"},
		{name: "content is not base64", answer: func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"id":7,"Content":"no*base64"}`) },
			blobs: &memBlobs{}, line: "[file could not be sent: KYC.pdf]"},
		{name: "no content in the answer", answer: func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"id":7,"type":"attachment"}`) },
			blobs: &memBlobs{}, line: "[file could not be sent: KYC.pdf]"},
		{name: "answer cut short", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, `{"id":7,"Content":"JVBERi0xLjQK`)
		}, blobs: &memBlobs{}, transient: true},
		{name: "RT fails for now", answer: func(w http.ResponseWriter) { http.Error(w, "", http.StatusInternalServerError) },
			blobs: &memBlobs{}, transient: true},
		{name: "RT busy", answer: func(w http.ResponseWriter) { http.Error(w, "", http.StatusServiceUnavailable) },
			blobs: &memBlobs{}, transient: true},
		{name: "no blob store", line: "[attachment in RT: KYC.pdf]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				require.Equal(t, "/attachment/7", r.URL.Path)
				tc.answer(w)
			}))
			t.Cleanup(srv.Close)
			h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, log: discardLog()}
			if tc.blobs != nil {
				h.blobs = tc.blobs
			}
			atts, lines, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
			if tc.transient {
				require.Error(t, err)
				require.False(t, connectors.IsPermanent(err), "a transient failure must be retried: %v", err)
				for range fileAttempts - 2 {
					_, _, err = h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
					require.Error(t, err, "retried up to fileAttempts polls")
				}
				// The shared cursor must not wait for this file for good: the reply goes without it.
				atts, lines, err = h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
				require.NoError(t, err)
				require.Empty(t, atts)
				require.Equal(t, []string{"[file could not be sent: KYC.pdf]"}, lines)
				require.Equal(t, int32(fileAttempts), requests.Load())
				return
			}
			require.NoError(t, err)
			require.Empty(t, h.poller.fileFailures, "only files failing for now are tracked")
			if tc.blobs == nil {
				require.Zero(t, requests.Load(), "without a blob store nothing is downloaded")
			}
			if tc.stored {
				sum := sha256.Sum256(content)
				require.Equal(t, []normalize.Attachment{{Name: "KYC.pdf", MediaType: "application/pdf", Size: int64(len(content)),
					SHA256: hex.EncodeToString(sum[:]), BlobRef: "blob-1"}}, atts)
				require.Empty(t, lines)
				return
			}
			require.Empty(t, atts)
			require.Equal(t, []string{tc.line}, lines)
		})
	}
}

// An agent's image that declares gigapixels would take down the player's browser when shown
// inline; refusing it would lose the agent's reply, which nobody is waiting to hear refused.
// It goes as a plain file, and the reply says why.
func TestFilesKeepHugeImagesAsFiles(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mediaType string
		content   []byte
		wantType  string
		line      string
	}{
		{"a PNG declaring 20000×20000", "image/png", hugeimage.PNG(20000, 20000), "application/octet-stream",
			"[image not shown inline, attached as a file: shot.png: the PNG image is 20000×20000 pixels (400 megapixels), over the limit of 50 megapixels]"},
		{"a GIF whose first frame is huge", "image/gif", hugeimage.GIFFrame(30000, 30000), "application/octet-stream",
			"[image not shown inline, attached as a file: shot.png: the GIF image is 30000×30000 pixels (900 megapixels), over the limit of 50 megapixels]"},
		{"a PNG of a sane size", "image/png", hugeimage.PNG(1920, 1080), "image/png", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]any{"id": 7, "Content": base64.StdEncoding.EncodeToString(tc.content)})
			}))
			t.Cleanup(srv.Close)
			blobs := &memBlobs{}
			h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, blobs: blobs, log: discardLog()}
			part := attachment{ID: "7", ContentType: tc.mediaType, Filename: "shot.png"}
			atts, lines, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
			require.NoError(t, err)
			require.Len(t, atts, 1, "the file goes with the reply")
			requireFile(t, blobs, agentFile{"shot.png", tc.wantType, tc.content}, atts[0])
			if tc.line == "" {
				require.Empty(t, lines)
				return
			}
			require.Equal(t, []string{tc.line}, lines)
			require.Equal(t, normalize.KindDocument, replyKind("", atts), "a file to download, not a picture")
		})
	}
}

// The gateway's blob store tells its limit.
var _ sizeLimited = (*blobstore.Dir)(nil)

// A file RT lists as over the blob store's limit is named without being downloaded; one
// whose size RT does not give, or a store that does not tell its limit, is downloaded until
// the store refuses it.
func TestFilesOverLimitFromListing(t *testing.T) {
	content := base64.StdEncoding.EncodeToString([]byte("0123456789"))
	for _, tc := range []struct {
		name      string
		size      flexString
		blobs     connectors.Blobs
		downloads int32
	}{
		{"listed over the limit", "10", &memBlobs{max: 5}, 0},
		{"size not listed", "", &memBlobs{max: 5}, 1},
		{"size not a number", "ten", &memBlobs{max: 5}, 1},
		{"listed smaller than it is", "3", &memBlobs{max: 5}, 1},
		{"store without a limit to tell", "10", struct{ connectors.Blobs }{&memBlobs{max: 5}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				_, _ = io.WriteString(w, `{"id":7,"Content":"`+content+`"}`)
			}))
			t.Cleanup(srv.Close)
			h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, blobs: tc.blobs, log: discardLog()}
			part := attachment{ID: "7", ContentType: "application/pdf", Filename: "KYC.pdf", ContentLength: tc.size}
			atts, lines, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
			require.NoError(t, err)
			require.Empty(t, atts)
			require.Equal(t, []string{"[file too large to send: KYC.pdf]"}, lines)
			require.Equal(t, tc.downloads, requests.Load())
		})
	}
}

// A failing blob store is the gateway's failure, not the file's: the transaction is retried
// for as long as it lasts, spending neither the file's budget nor the transaction's, and the
// file goes with the reply once the store is back.
func TestFilesRetriedWhileBlobStoreFails(t *testing.T) {
	content := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n%%EOF\n"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 7, "Content": content})
	}))
	t.Cleanup(srv.Close)
	blobs := &memBlobs{}
	blobs.broken.Store(true)
	h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, blobs: blobs, log: discardLog()}
	part := attachment{ID: "7", ContentType: "application/pdf", Filename: "KYC.pdf"}
	for range 3 * fileAttempts {
		_, _, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
		require.ErrorIs(t, err, errLocal)
		skip, err := h.failed(t.Context(), 9, "3", err)
		require.False(t, skip, "never passed over while the store fails")
		require.ErrorContains(t, err, "retried until the store recovers")
	}
	require.Empty(t, h.poller.fileFailures)
	require.Empty(t, h.poller.txnFailures)

	blobs.broken.Store(false)
	atts, lines, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
	require.NoError(t, err)
	require.Empty(t, lines)
	require.Len(t, atts, 1)
	require.Equal(t, "KYC.pdf", atts[0].Name)
}

// A file that failed for now and then turns out too large or gone for good leaves no entry
// in fileFailures: only files failing for now may stay.
func TestFileFailuresForgetSettledFiles(t *testing.T) {
	content := base64.StdEncoding.EncodeToString([]byte("0123456789"))
	for _, tc := range []struct {
		name   string
		blobs  *memBlobs
		answer func(w http.ResponseWriter)
	}{
		{"too large", &memBlobs{max: 5}, func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"id":7,"Content":"`+content+`"}`) }},
		{"gone", &memBlobs{}, func(w http.ResponseWriter) { http.Error(w, "{}", http.StatusNotFound) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failed atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !failed.Swap(true) {
					http.Error(w, "", http.StatusInternalServerError)
					return
				}
				tc.answer(w)
			}))
			t.Cleanup(srv.Close)
			h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, blobs: tc.blobs, log: discardLog()}
			part := attachment{ID: "7", ContentType: "application/pdf", Filename: "KYC.pdf"}
			_, _, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
			require.Error(t, err)
			require.Equal(t, map[int]int{7: 1}, h.poller.fileFailures)
			_, lines, err := h.files(t.Context(), txn{ID: "9", Ticket: "3"}, []attachment{part})
			require.NoError(t, err)
			require.Len(t, lines, 1)
			require.Empty(t, h.poller.fileFailures)
		})
	}
}

// agentFile is a file an agent attaches to a correspondence through REST2.
type agentFile struct {
	name, mediaType string
	content         []byte
}

func (f agentFile) json() map[string]string {
	return map[string]string{"FileName": f.name, "FileType": f.mediaType, "FileContent": base64.StdEncoding.EncodeToString(f.content)}
}

// kycFiles are a PDF with binary bytes and a PNG, as an agent attaches them to a KYC request.
func kycFiles(t *testing.T) (pdf, img agentFile) {
	var buf bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		m.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	require.NoError(t, png.Encode(&buf, m))
	pdf = agentFile{"KYC form.pdf", "application/pdf",
		[]byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" +
			"trailer<</Root 1 0 R>>\n%%EOF\n" + strings.Repeat("0123456789", 100))}
	return pdf, agentFile{"screenshot.png", "image/png", buf.Bytes()}
}

// agentReplies corresponds on ticket as the agent with text (text/plain, or text/html when
// html is set) and files.
func agentReplies(t *testing.T, ticket normalize.Ref, text string, html bool, files ...agentFile) {
	t.Helper()
	fields := map[string]any{"Content": text, "ContentType": "text/plain"}
	if html {
		fields["ContentType"] = "text/html"
	}
	var atts []map[string]string
	for _, f := range files {
		atts = append(atts, f.json())
	}
	if len(atts) > 0 {
		fields["Attachments"] = atts
	}
	require.NoError(t, agentClient(t).correspond(t.Context(), mustInt(t, ticket), fields))
}

// requireFile checks an attachment of a reply against the file the agent attached, down to
// the content in the blob store.
func requireFile(t *testing.T, blobs *memBlobs, want agentFile, got normalize.Attachment) {
	t.Helper()
	sum := sha256.Sum256(want.content)
	require.Equal(t, want.name, got.Name)
	require.Equal(t, want.mediaType, got.MediaType)
	require.Equal(t, int64(len(want.content)), got.Size)
	require.Equal(t, hex.EncodeToString(sum[:]), got.SHA256)
	rc, err := blobs.Open(t.Context(), got.BlobRef)
	require.NoError(t, err)
	defer rc.Close()
	stored, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, want.content, stored)
}

// logBuffer is a slog handler's output, safe to read while the poller writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPollDeliversAgentFiles has an agent reply in a real RT with a PDF and a PNG: the files
// reach the sink as attachments of the one reply, the body parts RT also stores as
// attachments do not, and a file that cannot be sent is named in the text instead.
func TestPollDeliversAgentFiles(t *testing.T) {
	pdf, img := kycFiles(t)
	const text = "Please sign the KYC form — Grüße"
	for _, tc := range []struct {
		name     string
		blobs    *memBlobs
		html     bool
		text     string
		files    []agentFile
		wantText string
		wantKind normalize.MessageKind
		sent     []agentFile
		warns    bool
	}{
		{name: "files become attachments", blobs: &memBlobs{}, text: text, files: []agentFile{pdf, img},
			wantText: text, wantKind: normalize.KindText, sent: []agentFile{pdf, img}},
		{name: "an image alone", blobs: &memBlobs{}, files: []agentFile{img},
			wantText: "", wantKind: normalize.KindImage, sent: []agentFile{img}},
		{name: "an html body is no attachment, and its text is plain", blobs: &memBlobs{}, html: true,
			text: "<p>See <b>attached</b></p><p>Regards,<br>Anna</p>", files: []agentFile{pdf},
			wantText: "See attached\n\nRegards,\nAnna", wantKind: normalize.KindText, sent: []agentFile{pdf}},
		{name: "rich text from RT's editor", html: true,
			text:     `<p>Hello,</p><ul><li>passport</li><li>bill</li></ul><p>See <a href="https://casino.example/kyc">KYC</a></p>`,
			wantText: "Hello,\n\n- passport\n- bill\n\nSee KYC (https://casino.example/kyc)", wantKind: normalize.KindText},
		{name: "an over-limit file is named", blobs: &memBlobs{max: int64(len(img.content))}, text: text, files: []agentFile{pdf, img},
			wantText: text + "\n[file too large to send: KYC form.pdf]", wantKind: normalize.KindText, sent: []agentFile{img}, warns: true},
		{name: "without a blob store files are named", text: text, files: []agentFile{pdf, img},
			wantText: text + "\n[attachment in RT: KYC form.pdf]\n[attachment in RT: screenshot.png]", wantKind: normalize.KindText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, logs, ticket := peerTicket(t, tc.blobs, "where is my withdrawal?")
			agentReplies(t, ticket, tc.text, tc.html, tc.files...)

			sink := &conformance.RecordingSink{}
			got := pollUntil(t, h, sink, func(m normalize.Message) bool { return m.Ticket == ticket }, 1)[0]
			require.Equal(t, tc.wantText, got.Text)
			require.Equal(t, tc.wantKind, got.Kind)
			require.Len(t, got.Attachments, len(tc.sent), "files only, no body parts: %+v", got.Attachments)
			for i, want := range tc.sent {
				requireFile(t, tc.blobs, want, got.Attachments[i])
			}
			require.Equal(t, tc.warns, warned(logs.String(), ticket), "logs: %s", logs.String())
		})
	}
}

// warned reports whether logs hold a warning about ticket.
func warned(logs string, ticket normalize.Ref) bool {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, " ticket="+string(ticket)+" ") {
			return true
		}
	}
	return false
}

// failFiles answers 503 to the next fails downloads of file parts (GET /attachment/:id of a
// part with a file name), as an RT restarting mid-poll would; other requests pass.
type failFiles struct {
	next  http.RoundTripper
	fails atomic.Int32
}

func (f *failFiles) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/attachment/") || f.fails.Load() <= 0 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var p attachment
	if json.Unmarshal(body, &p) != nil || p.Filename == "" {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	f.fails.Add(-1)
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("restarting")), Request: req}, nil
}

// TestPollRetriesFailedFileDownload fails the download of an agent's file once: the poll
// reports the error and keeps its cursor, and the next poll delivers the reply with both
// files, once.
func TestPollRetriesFailedFileDownload(t *testing.T) {
	blobs := &memBlobs{}
	h := newPeerHelpdesk(t, blobs)
	flaky := &failFiles{next: http.DefaultTransport}
	h.rt.http = &http.Client{Timeout: 30 * time.Second, Transport: flaky}
	conv := newConv()
	ticket, _, err := h.Post(t.Context(), conv, deliveries(conv, 1, "KYC?"))
	require.NoError(t, err)
	pdf, img := kycFiles(t)
	agentReplies(t, ticket, "here you go", false, pdf, img)
	replies, err := h.rt.transactions(t.Context(), mustInt(t, ticket), 0, "Correspond")
	require.NoError(t, err)
	reply := replies[len(replies)-1].ID.int()

	flaky.fails.Store(1)
	sink := &conformance.RecordingSink{}
	onThis := func(m normalize.Message) bool { return m.Ticket == ticket }
	deadline := time.Now().Add(60 * time.Second)
	for err = h.pollOnce(t.Context(), sink); err == nil && time.Now().Before(deadline); err = h.pollOnce(t.Context(), sink) {
		time.Sleep(h.cfg.PollInterval) // until the reply is settled and its download fails
	}
	require.ErrorContains(t, err, "503")
	require.Empty(t, sink.Where(onThis), "nothing delivered while a file is missing")
	h.poller.mu.Lock()
	cursor := h.poller.cursor
	h.poller.mu.Unlock()
	require.Less(t, cursor, reply, "the cursor stays before the reply")

	got := pollUntil(t, h, sink, onThis, 1)
	require.Equal(t, "here you go", got[0].Text)
	require.Len(t, got[0].Attachments, 2)
	requireFile(t, blobs, pdf, got[0].Attachments[0])
	requireFile(t, blobs, img, got[0].Attachments[1])
	require.NoError(t, h.pollOnce(t.Context(), sink))
	require.Len(t, sink.Where(onThis), 1, "delivered once")
}

// A reply with nothing a chat app could show (an empty rich-text body) is not passed on;
// the next one is.
func TestPollSkipsEmptyReply(t *testing.T) {
	h, logs, ticket := peerTicket(t, &memBlobs{}, "hello?")
	agentReplies(t, ticket, "<p>&nbsp;</p><p><br></p>", true)
	agentReplies(t, ticket, "after", false)

	sink := &conformance.RecordingSink{}
	got := pollUntil(t, h, sink, func(m normalize.Message) bool { return m.Ticket == ticket }, 1)
	require.Len(t, got, 1)
	require.Equal(t, "after", got[0].Text)
	require.True(t, warned(logs.String(), ticket), "logs: %s", logs.String())
}
