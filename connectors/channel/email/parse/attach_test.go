package parse

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
	"github.com/stretchr/testify/require"
)

// cidSource finds the images an HTML body takes from the mail itself.
var cidSource = regexp.MustCompile(`src="cid:([^"]+)"`)

// An HTML mail's inline images become attachments that carry the Content-ID its HTML refers
// to them by, so a helpdesk can show each image where the player put it.
func TestInlineImagesKeepTheirContentID(t *testing.T) {
	raw, err := os.ReadFile("testdata/thunderbird-inline-images.eml")
	require.NoError(t, err)
	store := newStore(1<<20, 0)
	m, err := Parse(context.Background(), strings.NewReader(string(raw)), Options{Store: store.Put})
	require.NoError(t, err)

	var refs []string
	for _, match := range cidSource.FindAllStringSubmatch(m.HTML, -1) {
		// A cid: URL is the Content-ID %-encoded (RFC 2392).
		id, err := url.PathUnescape(match[1])
		require.NoError(t, err)
		refs = append(refs, id)
	}
	require.Len(t, refs, 2, "the HTML keeps both images: %s", m.HTML)
	require.Len(t, m.Attachments, 2)
	var ids []string
	for _, a := range m.Attachments {
		require.True(t, strings.HasPrefix(a.MediaType, "image/"), "%s is %s", a.Name, a.MediaType)
		_, ok := store.content(a.BlobRef)
		require.True(t, ok, "%s not stored", a.Name)
		ids = append(ids, a.ContentID)
	}
	require.ElementsMatch(t, refs, ids)
	require.NotEqual(t, ids[0], ids[1])
}

// Files without a Content-ID have none: it is no name to show.
func TestAttachmentsWithoutContentID(t *testing.T) {
	m, err := Parse(context.Background(), strings.NewReader(rawMail(twoFiles, "")), Options{Store: newStore(1<<20, 0).Put})
	require.NoError(t, err)
	require.Len(t, m.Attachments, 2)
	for _, a := range m.Attachments {
		require.Empty(t, a.ContentID, a.Name)
	}
}

// Two parts with the same bytes are stored once but are two images in the HTML.
func TestSameContentTwoContentIDs(t *testing.T) {
	part := "--r\nContent-Type: image/gif\nContent-ID: <%s>\nContent-Transfer-Encoding: base64\n\nR0lGODlhAQABAAAAACw=\n"
	raw := rawMail("From: a@example.com\nContent-Type: multipart/related; boundary=r",
		"--r\nContent-Type: text/html\n\n<img src=\"cid:one@x\"><img src=\"cid:two@x\">\n"+
			strings.ReplaceAll(part, "%s", "one@x")+strings.ReplaceAll(part, "%s", "two@x")+"--r--")
	m, err := Parse(context.Background(), strings.NewReader(raw), Options{Store: newStore(1<<20, 0).Put})
	require.NoError(t, err)
	require.Len(t, m.Attachments, 2)
	require.Equal(t, m.Attachments[0].BlobRef, m.Attachments[1].BlobRef)
	require.Equal(t, "one@x", m.Attachments[0].ContentID)
	require.Equal(t, "two@x", m.Attachments[1].ContentID)
}

func TestContentID(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"in angle brackets", "<part1.Kq3xV0bN@player.example>", "part1.Kq3xV0bN@player.example"},
		{"Gmail's, without @", "<ii_m7zq1x2a0>", "ii_m7zq1x2a0"},
		{"surrounding space", "  <logo@x>  ", "logo@x"},
		{"bare, as some clients write it", "image001.png@01DB8A2C.5F3E1B20", "image001.png@01DB8A2C.5F3E1B20"},
		{"bare without @", "logo", "logo"},
		{"with a comment", "<logo@x> (the logo)", "logo@x"},
		{"encoded word", "=?utf-8?q?=3Clogo@x=3E?=", "logo@x"},
		{"none", "", ""},
		{"empty brackets", "<>", ""},
		{"space inside", "<a b@x>", ""},
		{"control character inside", "<a\x01b@x>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h textproto.Header
			if tt.header != "" {
				h.Set("Content-Id", tt.header)
			}
			require.Equal(t, tt.want, contentID(h, fallbackCharset))
		})
	}
}
