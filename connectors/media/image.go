package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	imagejpeg "image/jpeg"
	imagepng "image/png"
	"io"
	"slices"
)

// MaxImagePixels is the most pixels an image may declare and still be shown inline. A browser
// decodes an image to 4 bytes a pixel whatever its file size: a 1 MB PNG declaring 20000×20000
// takes 1.6 GB in the agent's tab, and a few of them take the machine. 50 megapixels
// (200 MB decoded) lets through the largest full-resolution photos phones commonly take
// (50 MP at 8160×6120, 48 MP at 8000×6000) and screenshots and scans of any size, and stays
// an eighth of that attack. Area, not a side: memory goes with the area, and panoramas are
// wide but not large.
const MaxImagePixels = 50_000_000

// maxImageHead is how far into a file its dimensions are looked for. PNG, GIF and WebP say
// them in the first bytes; a JPEG says them after its metadata (EXIF, ICC profiles, XMP),
// which rarely passes a few hundred kilobytes. An image whose dimensions are not found within
// it is not shown inline: what cannot be checked cannot be trusted.
const maxImageHead = 1 << 20

var (
	// ErrImageTooLarge marks an image that declares more than MaxImagePixels.
	ErrImageTooLarge = errors.New("image dimensions over the limit")
	// ErrImageUnreadable marks an image whose dimensions cannot be read: corrupt, cut short,
	// of another format than its type says, or with them beyond the first megabyte.
	ErrImageUnreadable = errors.New("image dimensions unreadable")
)

// ImageError says why an image must not be shown inline. It wraps ErrImageTooLarge or
// ErrImageUnreadable.
type ImageError struct {
	MediaType     string
	Width, Height int64 // as declared; 0 when unreadable
	err           error
	cause         error // what the decoder said, for an unreadable image
}

func (e *ImageError) Unwrap() error { return e.err }

// Error says what is wrong in words for the person who sent the image.
func (e *ImageError) Error() string {
	if errors.Is(e.err, ErrImageTooLarge) {
		return fmt.Sprintf("the %s is %d×%d pixels (%.0f megapixels), over the limit of %d megapixels",
			Name(e.MediaType), e.Width, e.Height, float64(e.Width)*float64(e.Height)/1e6, MaxImagePixels/1_000_000)
	}
	return fmt.Sprintf("the size of the %s cannot be read (%v)", Name(e.MediaType), e.cause)
}

// CheckImage reads the start of content of mediaType from r and refuses an inline image (see
// IsInlineImage) whose dimensions exceed MaxImagePixels or cannot be read, with an
// *ImageError. Other types pass unchecked. It returns a reader of the whole content, the
// bytes it read first, so the caller stores or sends what it was given; a read error of r is
// left for that reader to return, where the caller handles it already.
//
// The decoder is the declared type's: a browser decodes by the content, so content that is
// not of its declared type is unreadable here, never waved through.
func CheckImage(r io.Reader, mediaType string) (io.Reader, error) {
	if !IsInlineImage(mediaType) {
		return r, nil
	}
	buf := make([]byte, 0, 4<<10)
	for {
		// Read in growing steps, so a PNG costs one read and a JPEG with large metadata a few
		// decodes, not one a chunk.
		n, readErr := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		ended := errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF)
		w, h, short, err := imageSize(mediaType, buf)
		if short && readErr == nil && len(buf) < maxImageHead {
			buf = slices.Grow(buf, min(3*cap(buf), maxImageHead-len(buf)))
			continue
		}
		var verdict error
		switch {
		case err == nil && w*h > MaxImagePixels:
			verdict = &ImageError{MediaType: mediaType, Width: w, Height: h, err: ErrImageTooLarge}
		case err == nil:
		case readErr != nil && !ended:
			// The content could not be read, so there is nothing to judge: the returned
			// reader fails as r did, where the caller handles it already.
		case short && !ended:
			verdict = &ImageError{MediaType: mediaType, err: ErrImageUnreadable,
				cause: fmt.Errorf("no dimensions in the first %d KiB", maxImageHead>>10)}
		default:
			verdict = &ImageError{MediaType: mediaType, err: ErrImageUnreadable, cause: err}
		}
		switch {
		case readErr == nil:
			return io.MultiReader(bytes.NewReader(buf), r), verdict
		case ended:
			return bytes.NewReader(buf), verdict
		}
		return io.MultiReader(bytes.NewReader(buf), failing{readErr}), verdict
	}
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

// imageSize reads the dimensions an image of mediaType declares from its first bytes. short
// reports that head ended before they did: more bytes may tell.
func imageSize(mediaType string, head []byte) (w, h int64, short bool, err error) {
	switch mediaType {
	case "image/png", "image/jpeg":
		er := &endReader{b: head}
		decode := imagepng.DecodeConfig
		if mediaType == "image/jpeg" {
			decode = imagejpeg.DecodeConfig
		}
		cfg, err := decode(er)
		if err != nil {
			return 0, 0, er.end, err
		}
		return int64(cfg.Width), int64(cfg.Height), false, nil
	case "image/gif":
		return gifSize(head)
	case "image/webp":
		return webpSize(head)
	}
	return 0, 0, false, fmt.Errorf("no decoder for %s", mediaType)
}

// endReader reads b and remembers whether the reader asked for more than b holds.
type endReader struct {
	b   []byte
	end bool
}

func (e *endReader) Read(p []byte) (int, error) {
	if len(e.b) == 0 {
		e.end = true
		return 0, io.EOF
	}
	n := copy(p, e.b)
	e.b = e.b[n:]
	return n, nil
}

var errShort = errors.New("unexpected end of data")

// gifSize reads a GIF's logical screen and its first frame. A browser enlarges the screen to a
// first frame larger than it (Blink and Gecko both do, for broken GIFs), so a GIF declaring a
// 1×1 screen and a 20000×20000 first frame is as large as the frame: image/gif's DecodeConfig
// reads only the screen. Later frames are clipped to the screen.
func gifSize(b []byte) (w, h int64, short bool, err error) {
	if len(b) < 13 {
		return 0, 0, true, errShort
	}
	if string(b[:6]) != "GIF87a" && string(b[:6]) != "GIF89a" {
		return 0, 0, false, errors.New("gif: not a GIF")
	}
	w, h = int64(binary.LittleEndian.Uint16(b[6:])), int64(binary.LittleEndian.Uint16(b[8:]))
	i := 13
	if flags := b[10]; flags&0x80 != 0 {
		i += 3 << ((flags & 7) + 1) // the global colour table
	}
	for {
		if i >= len(b) {
			return 0, 0, true, errShort
		}
		switch b[i] {
		case 0x2c: // image descriptor: left, top, width, height
			if i+9 > len(b) {
				return 0, 0, true, errShort
			}
			d := b[i+1:]
			left, top := int64(binary.LittleEndian.Uint16(d)), int64(binary.LittleEndian.Uint16(d[2:]))
			fw, fh := int64(binary.LittleEndian.Uint16(d[4:])), int64(binary.LittleEndian.Uint16(d[6:]))
			return max(w, left+fw), max(h, top+fh), false, nil
		case 0x21: // extension: a label, then data sub-blocks up to an empty one
			i += 2
			for {
				if i >= len(b) {
					return 0, 0, true, errShort
				}
				n := int(b[i])
				i += 1 + n
				if n == 0 {
					break
				}
			}
		case 0x3b: // trailer: no frame at all
			return w, h, false, nil
		default:
			return 0, 0, false, fmt.Errorf("gif: unknown block 0x%02x", b[i])
		}
	}
}

// webpSize reads the canvas of a WebP (RFC 9649): the first chunk is VP8X with the canvas
// size, or a lossy (VP8) or lossless (VP8L) bitstream with the image's. Twenty lines here
// rather than golang.org/x/image for its DecodeConfig: the headers are fixed fields, and a
// dependency for them is one more thing to keep up to date.
func webpSize(b []byte) (w, h int64, short bool, err error) {
	if len(b) < 30 {
		// Every header fits in 30 bytes; a valid WebP is never shorter.
		if len(b) < 12 || (string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP") {
			return 0, 0, true, errShort
		}
	}
	if string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, false, errors.New("webp: not a WebP")
	}
	data := b[20:]
	switch string(b[12:16]) {
	case "VP8X":
		le24 := func(p []byte) int64 { return int64(p[0]) | int64(p[1])<<8 | int64(p[2])<<16 }
		return le24(data[4:]) + 1, le24(data[7:]) + 1, false, nil
	case "VP8L":
		if data[0] != 0x2f {
			return 0, 0, false, errors.New("webp: bad VP8L signature")
		}
		bits := binary.LittleEndian.Uint32(data[1:])
		return int64(bits&0x3fff) + 1, int64(bits>>14&0x3fff) + 1, false, nil
	case "VP8 ":
		if data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a {
			return 0, 0, false, errors.New("webp: bad VP8 start code")
		}
		return int64(binary.LittleEndian.Uint16(data[6:]) & 0x3fff), int64(binary.LittleEndian.Uint16(data[8:]) & 0x3fff), false, nil
	}
	return 0, 0, false, fmt.Errorf("webp: unknown first chunk %q", b[12:16])
}
