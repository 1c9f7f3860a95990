package webhook_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/hugeimage"
	"github.com/casino-support/gateway/test/webhookreceiver"
)

// pngFile is a valid 1×1 PNG, the one in the contract's examples.
var pngFile = mustBase64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mPQqzUCAAG6AN76d2wkAAAAAElFTkSuQmCC")

func mustBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// pdfOf returns a PDF of n bytes (at least its header): the sniffer knows PDFs by "%PDF-".
func pdfOf(n int) []byte {
	b := []byte("%PDF-1.4\n%%EOF\n")
	if n > len(b) {
		b = append(b, bytes.Repeat([]byte{'%'}, n-len(b))...)
	}
	return b
}

var pdfFile = pdfOf(0)

// file is one attachment of a reply as the operator sends it.
func file(name, mediaType string, content []byte) webhook.InAttachment {
	return webhook.InAttachment{Name: name, MediaType: mediaType, ContentBase64: base64.StdEncoding.EncodeToString(content)}
}

// replyWith is a reply.created with text and files on ticket T-1; via "replies" it is the bare
// reply that endpoint takes.
func replyWith(t *testing.T, via, id, text string, note bool, files ...webhook.InAttachment) string {
	t.Helper()
	ev := webhook.InEvent{Event: webhook.EventReplyCreated, ReplyID: id, Ticket: "T-1", Text: text, Note: note,
		Agent: webhook.Agent{Name: "Alice"}, Attachments: files}
	if via == "replies" {
		ev.Event = ""
	}
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	return string(body)
}

// sendVia sends body signed to the hook, or with the bearer token to the events or the
// replies API.
func (e *env) sendVia(t *testing.T, via, body string) (int, string) {
	t.Helper()
	switch via {
	case "hook":
		return e.hook(t, testSecret, time.Now(), body)
	case "events":
		return e.events(t, testToken, body)
	}
	return e.api(t, testToken, body)
}

var vias = []string{"hook", "events", "replies"}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestReplyAttachmentsReachTheSink(t *testing.T) {
	csv := []byte("date,amount\n2026-11-20,500.00\n")
	// A .docx is a ZIP inside: its declared type cannot be sniffed, so it is taken as declared.
	docx := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 60)...)
	tests := []struct {
		name     string
		text     string
		note     bool
		files    []webhook.InAttachment
		want     []normalize.Attachment // without size, digest and reference, which follow from content
		content  [][]byte
		wantKind normalize.MessageKind
		wantText string
	}{
		{name: "text and files", text: "Hier sind Ihre Unterlagen.",
			files:   []webhook.InAttachment{file("auszahlung.png", "image/png", pngFile), file("kyc-form.pdf", "application/pdf", pdfFile)},
			want:    []normalize.Attachment{{Name: "auszahlung.png", MediaType: "image/png"}, {Name: "kyc-form.pdf", MediaType: "application/pdf"}},
			content: [][]byte{pngFile, pdfFile}, wantKind: normalize.KindDocument, wantText: "Hier sind Ihre Unterlagen."},
		{name: "only an image", files: []webhook.InAttachment{file("auszahlung.png", "image/png", pngFile)},
			want: []normalize.Attachment{{Name: "auszahlung.png", MediaType: "image/png"}}, content: [][]byte{pngFile}, wantKind: normalize.KindImage},
		{name: "blank text is dropped", text: " \n ", files: []webhook.InAttachment{file("kyc-form.pdf", "application/pdf", pdfFile)},
			want: []normalize.Attachment{{Name: "kyc-form.pdf", MediaType: "application/pdf"}}, content: [][]byte{pdfFile}, wantKind: normalize.KindDocument},
		{name: "a note keeps its kind", text: "For the file", note: true, files: []webhook.InAttachment{file("kyc-form.pdf", "application/pdf", pdfFile)},
			want: []normalize.Attachment{{Name: "kyc-form.pdf", MediaType: "application/pdf"}}, content: [][]byte{pdfFile}, wantKind: normalize.KindNote, wantText: "For the file"},
		{name: "parameters dropped, unsniffable types as declared",
			files: []webhook.InAttachment{file(" statement.csv ", "Text/CSV; charset=utf-8", csv),
				file("terms.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx)},
			want: []normalize.Attachment{{Name: "statement.csv", MediaType: "text/csv"},
				{Name: "terms.docx", MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}},
			content: [][]byte{csv, docx}, wantKind: normalize.KindDocument},
	}
	for _, via := range vias {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				sink := e.run(t)
				body := replyWith(t, via, "r-1", tt.text, tt.note, tt.files...)
				for range 2 { // a retried reply stores its files once
					status, answer := e.sendVia(t, via, body)
					require.Equal(t, http.StatusOK, status, answer)
					require.JSONEq(t, `{"status":"stored","reply_id":"r-1"}`, answer)
				}
				msgs := sink.Messages()
				require.Len(t, msgs, 2)
				msgs[0].SentAt, msgs[1].SentAt = time.Time{}, time.Time{}
				require.Equal(t, msgs[0], msgs[1], "a repeat is the same message, for the store to deduplicate on reply_id")
				m := msgs[0]
				require.Equal(t, normalize.ExternalID("r-1"), m.ExternalID)
				require.Equal(t, tt.wantKind, m.Kind)
				require.Equal(t, tt.wantText, m.Text)
				require.Len(t, m.Attachments, len(tt.want))
				stored := e.blobs.contents()
				for i, att := range m.Attachments {
					sum := sha256Hex(tt.content[i])
					want := tt.want[i]
					want.Size, want.SHA256, want.BlobRef = int64(len(tt.content[i])), sum, "sha256:"+sum
					require.Equal(t, want, att)
					require.Equal(t, tt.content[i], stored[att.BlobRef], "the blob is the decoded content")
				}
				require.Len(t, stored, len(tt.content), "each file stored once")
			})
		}
	}
}

func TestReplyAttachmentRefusals(t *testing.T) {
	pdf := file("kyc-form.pdf", "application/pdf", pdfFile)
	with := func(mutate func(*webhook.InAttachment)) webhook.InAttachment {
		f := pdf
		mutate(&f)
		return f
	}
	eleven := make([]webhook.InAttachment, 11)
	for i := range eleven {
		eleven[i] = file("auszahlung.png", "image/png", pngFile)
	}
	tests := []struct {
		name      string
		body      func(t *testing.T, via string) string
		malformed bool  // violates the contract on purpose: skip request validation
		storeMax  int64 // the blob store's own limit, when not the helpdesk's
		want      int
		wantErr   string
	}{
		{name: "no name", malformed: true, want: 400, wantErr: "attachments[0]: name is required",
			body: files(with(func(f *webhook.InAttachment) { f.Name = "" }))},
		{name: "blank name", malformed: true, want: 400, wantErr: "attachments[0]: name is required",
			body: files(with(func(f *webhook.InAttachment) { f.Name = "  " }))},
		{name: "name over 255 characters", malformed: true, want: 400, wantErr: "attachments[0]: name is over 255 characters",
			body: files(with(func(f *webhook.InAttachment) { f.Name = strings.Repeat("ä", 256) }))},
		{name: "name with a bidi override", want: 400, wantErr: "bidirectional",
			body: files(with(func(f *webhook.InAttachment) { f.Name = "kyc\u202Efdp.exe" }))},
		{name: "no media type", malformed: true, want: 400, wantErr: `media_type "" is not a media type`,
			body: files(with(func(f *webhook.InAttachment) { f.MediaType = "" }))},
		{name: "media type without subtype", malformed: true, want: 400, wantErr: `media_type "pdf" is not a media type`,
			body: files(with(func(f *webhook.InAttachment) { f.MediaType = "pdf" }))},
		{name: "not base64", malformed: true, want: 400, wantErr: "attachments[0] (kyc-form.pdf): content_base64 is not standard base64",
			body: files(with(func(f *webhook.InAttachment) { f.ContentBase64 = "not base64!" }))},
		{name: "base64 without padding", want: 400, wantErr: "content_base64 is not standard base64",
			body: files(with(func(f *webhook.InAttachment) { f.ContentBase64 = "JVBERi0" }))},
		{name: "empty file", malformed: true, want: 400, wantErr: "attachments[0] (kyc-form.pdf): the file is empty",
			body: files(with(func(f *webhook.InAttachment) { f.ContentBase64 = "" }))},
		{name: "too many files", malformed: true, want: 400, wantErr: "at most 10 attachments per reply, got 11",
			body: files(eleven...)},
		{name: "a PNG that is a PDF", want: 400, wantErr: "attachments[1] (scan.png): media_type is image/png but the content is not (it looks like application/pdf)",
			body: files(pdf, file("scan.png", "image/png", pdfFile))},
		{name: "a PNG declaring 20000×20000 pixels", want: 400,
			wantErr: "attachments[1] (bomb.png): the PNG image is 20000×20000 pixels (400 megapixels), over the limit of 50 megapixels",
			body:    files(pdf, file("bomb.png", "image/png", hugeimage.PNG(20000, 20000)))},
		{name: "a GIF whose first frame is huge", want: 400, wantErr: "attachments[0] (anim.gif): the GIF image is 30000×30000 pixels",
			body: files(file("anim.gif", "image/gif", hugeimage.GIFFrame(30000, 30000)))},
		{name: "a PDF that is text", want: 400, wantErr: "media_type is application/pdf but the content is not (it looks like text/plain)",
			body: files(file("kyc-form.pdf", "application/pdf", []byte("please sign")))},
		{name: "unknown field in a file", malformed: true, want: 400, wantErr: `unknown field "size"`,
			body: func(t *testing.T, via string) string {
				return strings.Replace(replyWith(t, via, "r-1", "", false, pdf), `"content_base64"`, `"size":15,"content_base64"`, 1)
			}},
		{name: "neither text nor files", malformed: true, want: 400, wantErr: "text or attachments are required",
			body: func(t *testing.T, via string) string {
				body := replyWith(t, via, "r-1", "", false)
				return strings.TrimSuffix(body, "}") + `,"attachments":[]}`
			}},
		{name: "files together over the limit", want: 413, wantErr: "attachments: over the limit of 65536 bytes of content per reply (at attachments[1], b.pdf)",
			body: files(file("a.pdf", "application/pdf", pdfOf(40<<10)), file("b.pdf", "application/pdf", pdfOf(40<<10)))},
		{name: "a file over the store's limit", storeMax: 1 << 10, want: 413, wantErr: "attachments[0] (big.pdf): too large for the attachment store",
			body: files(file("big.pdf", "application/pdf", pdfOf(2<<10)))},
		{name: "body over the limit", want: 413, wantErr: "body over 1135960 bytes (1 MiB of event and at most 65536 bytes of attachments in base64)",
			body: files(file("huge.pdf", "application/pdf", pdfOf(1<<20)))}, // 1.33 MiB in base64
	}
	for _, via := range vias {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				e.malformed = func(*http.Request) bool { return tt.malformed }
				if tt.storeMax > 0 {
					e.blobs.setMax(tt.storeMax)
				}
				sink := e.run(t)
				reqBody := tt.body(t, via)
				if tt.malformed { // the others are validated on their way in, as in every test
					require.Error(t, e.validate(t, via, reqBody), "the contract must refuse it too")
				}
				status, body := e.sendVia(t, via, reqBody)
				require.Equal(t, tt.want, status, body)
				var ans webhook.ErrorAnswer
				require.NoError(t, json.Unmarshal([]byte(body), &ans))
				require.Contains(t, ans.Error, tt.wantErr)
				require.Empty(t, sink.Messages(), "nothing may be delivered on a refusal")
				require.Empty(t, e.blobs.contents(), "nothing may be stored on a refusal")
			})
		}
	}
}

// validate checks body against the contract as a request via the hook, the events or the
// replies API.
func (e *env) validate(t *testing.T, via, body string) error {
	t.Helper()
	template, endpoint := "/hooks/{instance}", e.gateway.URL+"/hooks/"+testName
	if via != "hook" {
		template, endpoint = "/api/v1/helpdesks/{instance}/"+via, e.gateway.URL+"/api/v1/helpdesks/"+testName+"/"+via
	}
	req, err := webhookreceiver.SignedRequest(t.Context(), endpoint, testSecret, time.Now(), []byte(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	return e.contract.ValidateRequest(t.Context(), webhookreceiver.Exchange{Template: template,
		PathParams: map[string]string{"instance": testName}, Request: req, Body: []byte(body)})
}

// files is the body of a reply with no text and fs.
func files(fs ...webhook.InAttachment) func(*testing.T, string) string {
	return func(t *testing.T, via string) string { return replyWith(t, via, "r-1", "", false, fs...) }
}

func TestAttachmentsOnlyOnReplies(t *testing.T) {
	for _, via := range []string{"hook", "api"} {
		t.Run(via, func(t *testing.T) {
			e := newEnv(t, nil)
			e.malformed = func(*http.Request) bool { return true } // the contract refuses them too
			sink := e.run(t)
			pdf, err := json.Marshal([]webhook.InAttachment{file("kyc-form.pdf", "application/pdf", pdfFile)})
			require.NoError(t, err)
			status, body := e.signedOrBearer(t, via, `{"event":"conversation.status_changed","event_id":"chg-1","ticket":"T-1","status":"closed","attachments":`+string(pdf)+`}`)
			require.Equal(t, http.StatusBadRequest, status, body)
			require.Contains(t, body, "conversation.status_changed does not take attachments")
			require.Empty(t, sink.Messages())
			require.Empty(t, e.blobs.contents())
		})
	}
}

// flakyBlobs fails Put with err while it is set.
type flakyBlobs struct {
	*memBlobs
	mu  sync.Mutex
	err error
}

func (b *flakyBlobs) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

func (b *flakyBlobs) Put(ctx context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return normalize.Attachment{}, err
	}
	return b.memBlobs.Put(ctx, r, name, mediaType)
}

// TestReplyAttachmentStoreFailures: a failing blob store is worth a retry (503), a missing one
// never stores a file (422); neither stores the reply.
func TestReplyAttachmentStoreFailures(t *testing.T) {
	t.Run("store fails", func(t *testing.T) {
		flaky := &flakyBlobs{memBlobs: newMemBlobs(testMaxAttachment)}
		e := newEnvDeps(t, nil, func(d *webhook.Deps) { d.Blobs = flaky })
		sink := e.run(t)
		flaky.fail(errors.New("disk full"))
		body := replyWith(t, "hook", "r-1", "", false, file("kyc-form.pdf", "application/pdf", pdfFile))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.gateway.URL+"/api/v1/helpdesks/"+testName+"/events", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Equal(t, "1", resp.Header.Get("Retry-After"))
		require.Empty(t, sink.Messages())

		flaky.fail(nil)
		status, answer := e.hook(t, testSecret, time.Now(), body)
		require.Equal(t, http.StatusOK, status, answer, "the sender's retry succeeds")
		require.Len(t, sink.Messages(), 1)
	})
	t.Run("no store", func(t *testing.T) {
		e := newEnvDeps(t, nil, func(d *webhook.Deps) { d.Blobs = nil })
		sink := e.run(t)
		status, body := e.hook(t, testSecret, time.Now(), replyWith(t, "hook", "r-1", "", false, file("kyc-form.pdf", "application/pdf", pdfFile)))
		require.Equal(t, http.StatusUnprocessableEntity, status, body)
		require.Contains(t, body, "no attachment store")
		require.Empty(t, sink.Messages())
	})
}

// TestReplyAttachmentsInTheBlobStore runs replies against the gateway's own blob store: its
// content is the decoded file, and its limit, wrapped in connectors.ErrTooLarge, answers 413.
func TestReplyAttachmentsInTheBlobStore(t *testing.T) {
	store, err := blobs.New(t.TempDir(), 1<<10)
	require.NoError(t, err)
	e := newEnvDeps(t, nil, func(d *webhook.Deps) { d.Blobs = store })
	sink := e.run(t)

	status, body := e.events(t, testToken, replyWith(t, "events", "r-big", "", false, file("big.pdf", "application/pdf", pdfOf(2<<10))))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, body)
	require.Contains(t, body, "big.pdf")
	_, err = store.Put(t.Context(), bytes.NewReader(pdfOf(2<<10)), "big.pdf", "application/pdf")
	require.ErrorIs(t, err, connectors.ErrTooLarge, "the store's refusal is what the 413 maps")

	status, body = e.events(t, testToken, replyWith(t, "events", "r-1", "Ihr Formular", false, file("kyc-form.pdf", "application/pdf", pdfFile)))
	require.Equal(t, http.StatusOK, status, body)
	msgs := sink.Messages()
	require.Len(t, msgs, 1)
	rc, err := store.Open(t.Context(), msgs[0].Attachments[0].BlobRef)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, pdfFile, got)
}

// TestContractAttachmentExamplesAreAccepted sends the contract's examples of replies with
// files as they are printed: an operator who copies one must get 200.
func TestContractAttachmentExamplesAreAccepted(t *testing.T) {
	for _, tt := range []struct{ path, via string }{
		{"/hooks/{instance}", "hook"},
		{"/api/v1/helpdesks/{instance}/events", "events"},
	} {
		t.Run(tt.via, func(t *testing.T) {
			e := newEnv(t, nil)
			sink := e.run(t)
			example := e.contract.Doc().Paths.Value(tt.path).Post.RequestBody.Value.Content.Get("application/json").Examples["attachment"]
			require.NotNil(t, example, "the contract has an attachment example for %s", tt.path)
			body, err := json.Marshal(example.Value.Value)
			require.NoError(t, err)
			require.NoError(t, e.validate(t, tt.via, string(body)), "validate accepts what the contract does")
			status, answer := e.sendVia(t, tt.via, string(body))
			require.Equal(t, http.StatusOK, status, answer)
			msgs := sink.Messages()
			require.Len(t, msgs, 1)
			require.Equal(t, normalize.KindImage, msgs[0].Kind)
			require.Len(t, msgs[0].Attachments, 1)
			require.Equal(t, sha256Hex(pngFile), msgs[0].Attachments[0].SHA256)
		})
	}
}

// TestReplyFilesReachThePlayerOnce runs a reply with a file through the router and the SQLite
// store: retried through the hook and the API, the player gets it once, as a document the
// channel can send from the blob store.
func TestReplyFilesReachThePlayerOnce(t *testing.T) {
	s := newStack(t, time.Hour)
	s.playerWrites(t, "p-1", "de", "Wo ist das KYC-Formular?")
	opened := s.waitEvents(t, "conversation.opened", 1)[0].Event.Conversation
	ticket := s.recv.Ticket(opened.ID)
	require.NotEmpty(t, ticket)
	// Until the router recorded the ticket, the store answers replies to it with "retry".
	require.Eventually(t, func() bool {
		return s.conversation(t, normalize.ConversationID(opened.ID)).Ticket == normalize.Ref(ticket)
	}, 10*time.Second, 10*time.Millisecond)

	withTicket := func(body string) string { return strings.Replace(body, `"ticket":"T-1"`, `"ticket":"`+ticket+`"`, 1) }
	form := withTicket(replyWith(t, "hook", "r-1", "Bitte ausfüllen.", false, file("kyc-form.pdf", "application/pdf", pdfFile)))
	for _, via := range []string{"hook", "events", "hook"} {
		status, body := s.sendVia(t, via, form)
		require.Equal(t, http.StatusOK, status, body)
	}
	// Replies of a conversation reach the player in order: once this one has, the repeats would have.
	status, body := s.hook(t, testSecret, time.Now(), withTicket(replyWith(t, "hook", "r-2", "Danke!", false)))
	require.Equal(t, http.StatusOK, status, body)
	require.Eventually(t, func() bool {
		sent := s.ch.Sent()
		return len(sent) > 0 && sent[len(sent)-1].Text == "Danke!"
	}, 10*time.Second, 10*time.Millisecond)

	sent := s.ch.Sent()
	require.Len(t, sent, 2, "the file once, then the text")
	require.Equal(t, normalize.KindDocument, sent[0].Kind)
	require.Equal(t, "Bitte ausfüllen.", sent[0].Text)
	require.Len(t, sent[0].Attachments, 1)
	att := sent[0].Attachments[0]
	require.Equal(t, "kyc-form.pdf", att.Name)
	require.Equal(t, "application/pdf", att.MediaType)
	require.Equal(t, int64(len(pdfFile)), att.Size)
	rc, err := s.blobs.Open(t.Context(), att.BlobRef)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, pdfFile, got)
	require.Len(t, s.blobs.contents(), 1)
}
