package rt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// readContent is what a download reads of an answer: the content, or the first error.
func readContent(body io.Reader) ([]byte, error) {
	r, err := contentOf(body)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// wrapLines breaks s every n characters and ends it with a line break, as Perl's
// encode_base64 does for RT with n = 76.
func wrapLines(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func TestContentOf(t *testing.T) {
	long := bytes.Repeat([]byte("%PDF-1.4\n\xe2\xe3\xcf\xd3\xff\xfe\xfb"), 20)
	longB64 := base64.StdEncoding.EncodeToString(long)
	slashes := []byte{0xfb, 0xff, 0xbf, 0xfe} // +/+//g==
	slashesB64 := base64.StdEncoding.EncodeToString(slashes)
	require.Contains(t, slashesB64, "/")

	const (
		ok = iota
		permanent
		transient
	)
	for _, tc := range []struct {
		name string
		body string
		want []byte
		kind int
		cut  bool // the error is the answer ending early
	}{
		{name: "content first", body: `{"Content":"aGVsbG8=","id":7}`, want: []byte("hello")},
		{name: "content after other values", want: []byte("hello"),
			body: `{"_hyperlinks":[{"ref":"self","id":7,"x":[[],{}]}],"Creator":{"id":"agent","type":"user"},` +
				`"Parent":"0","n":-1.5e3,"t":true,"f":false,"z":null,"s":"a \"quoted\" } ] string","Content":"aGVsbG8="}`},
		{name: "only the top-level Content", body: `{"Parent":{"Content":"Ym9ndXM="},"Content":"aGVsbG8="}`, want: []byte("hello")},
		{name: "keys like Content are others", want: []byte("hello"),
			body: `{"ContentType":"text/plain","Conten":"Ym9ndXM=","content":"Ym9ndXM=","Content":"aGVsbG8="}`},
		{name: "escaped key", body: `{"Con\u0074ent":"aGVsbG8="}`, want: []byte("hello")},
		{name: "pretty-printed as RT answers", body: "{\n   \"id\" : 7,\n   \"Content\" : \"aGVsbG8=\\n\"\n}\n", want: []byte("hello")},
		{name: "escaped slashes", body: `{"Content":"` + strings.ReplaceAll(slashesB64, "/", `\/`) + `"}`, want: slashes},
		{name: `\u escapes`, body: `{"Content":"\u0061\u0047\u0056\u0073bG8\u003D"}`, want: []byte("hello")},
		{name: "wrapped as RT wraps", body: `{"Content":` + mustJSON(t, wrapLines(longB64, 76)) + `}`, want: long},
		{name: `wrapped with \r\n`, body: `{"Content":"` + strings.ReplaceAll(wrapLines(longB64, 64), "\n", `\r\n`) + `"}`, want: long},
		{name: "empty Content", body: `{"Content":""}`, want: []byte{}},
		{name: "null Content is an empty file", body: `{"id":7,"Content":null,"x":1}`, want: []byte{}},

		{name: "missing Content", body: `{"id":7,"type":"attachment"}`, kind: permanent},
		{name: "empty object", body: ` {} `, kind: permanent},
		{name: "Content a number", body: `{"Content":5}`, kind: permanent},
		{name: "Content an object", body: `{"Content":{"a":"aGVsbG8="}}`, kind: permanent},
		{name: "Content nil", body: `{"Content":nil}`, kind: permanent},
		{name: "not base64", body: `{"id":7,"Content":"no*base64"}`, kind: permanent},
		{name: "a quantum short", body: `{"Content":"aGVsbG8"}`, kind: permanent},
		{name: "data after padding", body: `{"Content":"aGk=aGk="}`, kind: permanent},
		{name: "a space", body: `{"Content":"aGVs bG8="}`, kind: permanent},
		{name: `\u escape past ASCII`, body: `{"Content":"aGVs\u00e9bG8="}`, kind: permanent},
		{name: "raw byte past ASCII", body: "{\"Content\":\"aGVs\xc3\xa9bG8=\"}", kind: permanent},
		{name: "unknown escape", body: `{"Content":"aGVs\xbG8="}`, kind: permanent},
		{name: `bad \u escape`, body: `{"Content":"aGVs\u00zzbG8="}`, kind: permanent},
		{name: "raw line break", body: "{\"Content\":\"aGVs\nbG8=\"}", kind: permanent},
		{name: "two commas", body: `{"id":7,,"Content":"aGVsbG8="}`, kind: permanent},
		{name: "no value", body: `{"id":,"Content":"aGVsbG8="}`, kind: permanent},
		{name: "no colon", body: `{"id" 7,"Content":"aGVsbG8="}`, kind: permanent},

		{name: "not an object", body: `<html>502 Bad Gateway</html>`, kind: transient},
		{name: "empty answer", body: ``, kind: transient, cut: true},
		{name: "cut before Content", body: `{"id":7,"Cont`, kind: transient, cut: true},
		{name: "cut in a skipped value", body: `{"_hyperlinks":[{"id":7`, kind: transient, cut: true},
		{name: "cut in Content", body: `{"id":7,"Content":"aGVsbG8=`, kind: transient, cut: true},
		{name: "cut in an escape", body: `{"Content":"aGVs\u00`, kind: transient, cut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readContent(strings.NewReader(tc.body))
			switch tc.kind {
			case ok:
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			case permanent:
				require.Error(t, err)
				require.True(t, connectors.IsPermanent(err), "asking again brings the same: %v", err)
			case transient:
				require.Error(t, err)
				require.False(t, connectors.IsPermanent(err), "asking again may help: %v", err)
			}
			if tc.cut {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// A read failing halfway through the content is passed on as it is: the next poll asks again.
func TestContentOfReadFails(t *testing.T) {
	reset := errors.New("connection reset by peer")
	_, err := readContent(io.MultiReader(strings.NewReader(`{"Content":"aGVs`), iotest.ErrReader(reset)))
	require.ErrorIs(t, err, reset)
	require.False(t, connectors.IsPermanent(err))
}

// FuzzAttachmentContent checks that no answer makes contentOf panic, and that an answer
// encoding/json writes, in either key order, wrapped or not, with slashes and plus signs
// escaped or not, gives back the content it was written with.
func FuzzAttachmentContent(f *testing.F) {
	f.Add([]byte("{\n   \"id\" : 7,\n   \"Content\" : \"aGVsbG8=\\n\",\n   \"Parent\" : {\"id\" : \"6\"}\n}\n"),
		[]byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n%%EOF\n"), uint8(19), false, false)
	f.Add([]byte(`{"id":7,"Content":null}`), []byte{}, uint8(0), true, true)
	f.Add([]byte(`{"Con\u0074ent":"\u0061\u0047\/Vs+bG8="}`), []byte{0xfb, 0xff, 0xbf, 0xfe}, uint8(1), true, false)
	f.Add([]byte(`{"_hyperlinks":[{"id":7}],"Content":"no*base64"`), bytes.Repeat([]byte{0}, 300), uint8(0), false, true)
	f.Fuzz(func(t *testing.T, body, content []byte, wrap uint8, first, escape bool) {
		_, _ = readContent(bytes.NewReader(body))

		encoded := base64.StdEncoding.EncodeToString(content)
		if wrap > 0 {
			encoded = wrapLines(encoded, 4*int(wrap))
		}
		links := []map[string]any{{"ref": "self", "type": "attachment", "id": 7, "_url": "http://rt.example/REST/2.0/attachment/7"}}
		var v any = struct {
			ID      int              `json:"id"`
			Links   []map[string]any `json:"_hyperlinks"`
			Content string           `json:"Content"`
		}{7, links, encoded}
		if first {
			v = struct {
				Content string           `json:"Content"`
				Links   []map[string]any `json:"_hyperlinks"`
				ID      int              `json:"id"`
			}{encoded, links, 7}
		}
		answer, err := json.Marshal(v)
		require.NoError(t, err)
		if escape {
			answer = bytes.ReplaceAll(answer, []byte("/"), []byte(`\/`))
			answer = bytes.ReplaceAll(answer, []byte("+"), []byte(`\u002B`))
		}
		got, err := readContent(bytes.NewReader(answer))
		require.NoError(t, err, "answer %s", answer)
		require.Equal(t, len(content), len(got))
		require.True(t, bytes.Equal(content, got), "content differs")
	})
}

// sizeBlobs is a blob store that keeps only the size of what it is given, so that what a
// download allocates is the connector's own.
type sizeBlobs struct{ n int64 }

func (b *sizeBlobs) Put(_ context.Context, r io.Reader, name, mediaType string) (normalize.Attachment, error) {
	n, err := io.Copy(io.Discard, r)
	b.n = n
	return normalize.Attachment{Name: name, MediaType: mediaType, Size: n}, err
}

func (b *sizeBlobs) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, io.ErrUnexpectedEOF
}

// bigFile returns a helpdesk on a stand-in RT that answers GET /attachment/7 with a random
// file of size bytes, as RT would, and the file's part.
func bigFile(tb testing.TB, size int) (*Helpdesk, *sizeBlobs, attachment) {
	content := make([]byte, size)
	_, _ = rand.Read(content)
	body, err := json.Marshal(map[string]any{"id": 7, "type": "attachment", "Content": wrapLines(base64.StdEncoding.EncodeToString(content), 76)})
	require.NoError(tb, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	tb.Cleanup(srv.Close)
	blobs := &sizeBlobs{}
	h := &Helpdesk{name: "rt-x", rt: &client{base: srv.URL, http: srv.Client()}, blobs: blobs, log: discardLog()}
	return h, blobs, attachment{ID: "7", ContentType: "application/octet-stream", Filename: "big.bin"}
}

// A download holds a few buffers, not the file: what it allocates stays far below the file's
// size (decoding the whole answer allocated over six times the size).
func TestDownloadAllocatesLittle(t *testing.T) {
	const size = 8 << 20
	h, blobs, part := bigFile(t, size)
	_, _, err := h.download(t.Context(), part, "big.bin") // the connection and its buffers
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = h.download(t.Context(), part, "big.bin")
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Equal(t, int64(size), blobs.n)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("a download of %d bytes allocated %d bytes", size, allocated)
	require.Less(t, allocated, uint64(size/8), "bytes allocated for a file of %d bytes", size)
}

func BenchmarkDownload(b *testing.B) {
	const size = 8 << 20
	h, blobs, part := bigFile(b, size)
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		if _, _, err := h.download(b.Context(), part, "big.bin"); err != nil {
			b.Fatal(err)
		}
		if blobs.n != size {
			b.Fatalf("stored %d bytes", blobs.n)
		}
	}
}
