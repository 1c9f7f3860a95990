package webchat

import (
	"mime"
	"path"
	"strings"
	"unicode"
)

// fileTypes are the media types the chat knows by name, with their usual extensions (the
// first is the one given to a file whose extension does not match its content). What is not
// listed falls back to the system's MIME table.
var fileTypes = map[string]struct {
	name string
	exts []string
}{
	"image/png":       {"PNG image", []string{".png"}},
	"image/jpeg":      {"JPEG image", []string{".jpg", ".jpeg"}},
	"image/gif":       {"GIF image", []string{".gif"}},
	"image/webp":      {"WebP image", []string{".webp"}},
	"image/bmp":       {"BMP image", []string{".bmp"}},
	"application/pdf": {"PDF document", []string{".pdf"}},
	"text/plain":      {"text file", []string{".txt"}},
	"text/html":       {"web page (HTML)", []string{".html"}},
	"application/zip": {"ZIP archive", []string{".zip"}},
	// DetectContentType reports executables, like anything it does not recognise, as this.
	"application/octet-stream": {"unknown or program file", []string{".bin"}},
}

// inlineSafe are the stored media types served back under their own type; anything else is
// served as application/octet-stream, so an agent's HTML attachment cannot run in the chat's
// origin.
var inlineSafe = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "application/pdf": true,
}

func typeName(mediaType string) string {
	if t, ok := fileTypes[mediaType]; ok {
		return t.name
	}
	return mediaType
}

// fileName makes a client's file name safe to store and show: no directories, no control or
// bidirectional-override characters (which can disguise "fdp.exe" as "exe.pdf"), at most 100
// characters, and an extension that matches the sniffed content.
func fileName(name, mediaType string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '"' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[len(r)-100:])
	}
	if name == "" || name == "." || name == ".." {
		name = "attachment"
	}
	exts := fileTypes[mediaType].exts
	if exts == nil {
		exts, _ = mime.ExtensionsByType(mediaType)
	}
	if len(exts) == 0 {
		return name
	}
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if ext == e {
			return name
		}
	}
	return strings.TrimSuffix(name, path.Ext(name)) + exts[0]
}
