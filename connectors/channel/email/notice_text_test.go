package email

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNoticeWords(t *testing.T) {
	for _, tc := range []struct{ lang, want string }{
		{"de", "nicht angenommen"}, {"pt-BR", "não foi recebido"}, {"RU", "не принято"},
		{"sv-SE, en", "togs inte emot"}, {"", "was not taken in"}, {"xx-YY", "was not taken in"},
	} {
		n := notice{language: tc.lang, subject: "Scans", size: 31<<20 + 1<<19, limit: 25 << 20}
		require.Contains(t, n.text(), tc.want, tc.lang)
		require.Contains(t, n.text(), "31.5 MB", tc.lang)
		require.Contains(t, n.text(), "25 MB", tc.lang)
	}
	n := notice{subject: "KYC", files: []string{"passport.jpg", "bill.pdf"}, limit: 10 << 20}
	require.Contains(t, n.text(), "these files were left out: passport.jpg, bill.pdf. A file can be at most 10 MB.")
	for lang, w := range noticeLanguages {
		for _, text := range []string{w.tooLarge, w.filesLeftOut} {
			require.Equal(t, 3, strings.Count(text, "%s"), "%s: subject, size or files, limit", lang)
		}
	}
}

func TestContentLanguage(t *testing.T) {
	for raw, want := range map[string]string{
		"Subject: x\r\nContent-Language: de-DE\r\n\r\nbody":  "de-DE",
		"Subject: x\r\nContent-Language: ro, en\r\n\r\nbody": "ro",
		"Subject: x\r\n\r\nbody":                             "",
		"Subject: x\r\nContent-Language: \"de\"\r\n\r\nbody": "",
		"not a mail": "",
	} {
		require.Equal(t, want, contentLanguage([]byte(raw)), raw)
	}
}
