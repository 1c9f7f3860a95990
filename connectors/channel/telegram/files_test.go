package telegram

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/test/hugeimage"
)

// document is a player's message carrying the file id as a document.
func document(id, name, mediaType string, size int) tgbotapi.Update {
	m := msg("")
	m.Document = &tgbotapi.Document{FileID: id, FileName: name, MimeType: mediaType, FileSize: size}
	return tgbotapi.Update{Message: m}
}

// A file_path comes from the Bot API server and goes into a URL that holds the token. One that
// climbs out of /file/bot<token>/, or brings a query or fragment, must never be requested:
// the message still arrives, naming the file it could not fetch.
func TestDownloadRefusesHostileFilePaths(t *testing.T) {
	hostile := []string{
		"../bot" + testToken + "/sendMessage?chat_id=1&text=pwned",
		"documents/../../admin",
		"documents/./file.pdf",
		"/etc/passwd",
		"documents/file.pdf?x=1",
		"documents/file.pdf#frag",
		`documents\..\file.pdf`,
		"documents//file.pdf",
		"documents/file\x00.pdf",
		"documents/file\n.pdf",
		"..",
		"",
	}
	e := newEnv(t, nil)
	for i, p := range hostile {
		id := fmt.Sprintf("hostile-%d", i)
		e.fake.AddFileAt(id, p, []byte("%PDF-1.7"))
		e.fake.AddUpdate(document(id, "kyc.pdf", "application/pdf", 8))
	}
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, len(hostile))
	for i, m := range got {
		require.Empty(t, m.Attachments, "file_path %q", hostile[i])
		require.Equal(t, "[file could not be fetched: kyc.pdf]", m.Text, "file_path %q", hostile[i])
	}
	require.Empty(t, e.fake.Downloads(), "no hostile path may be requested")
	requireNoToken(t, got)
}

// Paths with characters a URL path must escape are escaped, and fetched.
func TestDownloadEscapesFilePaths(t *testing.T) {
	e := newEnv(t, nil)
	for i, p := range []string{"documents/file_1.pdf", "documents/my file ü.pdf", "documents/100%.pdf", "documents/a;b=c.pdf"} {
		id := fmt.Sprintf("ok-%d", i)
		e.fake.AddFileAt(id, p, []byte("%PDF-1.7 "+p))
		e.fake.AddUpdate(document(id, "kyc.pdf", "application/pdf", 8))
	}
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 4)
	for _, m := range got {
		require.Len(t, m.Attachments, 1, m.Text)
	}
	require.Equal(t, []string{
		"/file/bot" + testToken + "/documents/file_1.pdf",
		"/file/bot" + testToken + "/documents/my%20file%20%C3%BC.pdf",
		"/file/bot" + testToken + "/documents/100%25.pdf",
		"/file/bot" + testToken + "/documents/a%3Bb=c.pdf",
	}, e.fake.Downloads())
}

// FuzzFilePath: an accepted file_path becomes a URL path that stays below /file/bot<token>/,
// has no query or fragment, and decodes back to the file_path.
func FuzzFilePath(f *testing.F) {
	for _, p := range []string{"documents/file_1.pdf", "../x", "a/./b", "a?b", "a#b", `a\b`, "/a", "a//b", "%2e%2e/x", "ü/ä b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, filePath string) {
		escaped, err := fileURLPath(filePath)
		if err != nil {
			return
		}
		base := "https://api.telegram.org/file/bot1:T/"
		u, err := url.Parse(base + escaped)
		if err != nil {
			t.Fatalf("%q → %q: not a URL: %v", filePath, escaped, err)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			t.Fatalf("%q → %q: has a query or fragment", filePath, escaped)
		}
		if !strings.HasPrefix(path.Clean(u.Path), "/file/bot1:T/") || path.Clean(u.Path) != u.Path {
			t.Fatalf("%q → %q: path %q leaves the file directory", filePath, escaped, u.Path)
		}
		if got := strings.TrimPrefix(u.Path, "/file/bot1:T/"); got != filePath {
			t.Fatalf("%q → %q decodes to %q", filePath, escaped, got)
		}
	})
}

// A player's image that declares gigapixels would take the agent's browser down when shown
// inline; refusing it would lose the player's message. It is kept as a plain file, not shown
// inline, and the text says why.
func TestDownloadKeepsHugeImagesAsFiles(t *testing.T) {
	e := newEnv(t, nil)
	photo, bomb := hugeimage.JPEG(20000, 20000), hugeimage.PNG(20000, 20000)
	e.fake.AddFile("photo", "photo.jpg", photo)
	e.fake.AddFile("bomb", "bomb.png", bomb)
	e.fake.AddFile("fine", "fine.png", hugeimage.PNG(1280, 720))
	m := msg("")
	m.Caption = "my screenshot"
	m.Photo = []tgbotapi.PhotoSize{{FileID: "photo", FileUniqueID: "b", Width: 20000, Height: 20000}}
	e.fake.AddUpdate(tgbotapi.Update{Message: m})
	e.fake.AddUpdate(document("bomb", "scan.png", "image/png", len(bomb)))
	e.fake.AddUpdate(document("fine", "fine.png", "image/png", 100))
	sink := newSink()
	e.run(t, sink)
	got := waitMessages(t, sink, 3)

	for i, m := range got[:2] {
		content := [][]byte{photo, bomb}[i]
		require.Len(t, m.Attachments, 1, "message %d keeps the file", i)
		att := m.Attachments[0]
		require.Equal(t, "application/octet-stream", att.MediaType, "message %d: a download, not an inline image", i)
		require.Equal(t, normalize.KindDocument, m.Kind, "message %d", i)
		require.Contains(t, m.Text, "[image not shown inline, attached as a file: ", "message %d", i)
		require.Contains(t, m.Text, "20000×20000 pixels", "message %d", i)
		rc, err := e.blobs.Open(context.Background(), att.BlobRef)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.Equal(t, content, b, "message %d: the content is kept whole", i)
	}
	require.True(t, strings.HasPrefix(got[0].Text, "my screenshot\n"), got[0].Text)
	require.Equal(t, "image/png", got[2].Attachments[0].MediaType, "an image of a sane size stays an image")
	require.Empty(t, got[2].Text)
}
