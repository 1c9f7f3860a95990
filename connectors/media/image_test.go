package media

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/hugeimage"
)

func TestCheckImage(t *testing.T) {
	// A JPEG's dimensions come after its metadata: a phone's EXIF and ICC profile, here 300 KiB.
	exif := make([]byte, 0, 300<<10)
	for len(exif) < 300<<10 {
		exif = append(exif, 0xff, 0xe1, 0xff, 0xff)
		exif = append(exif, make([]byte, 0xffff-2)...)
	}
	bigMeta := append(append([]byte{0xff, 0xd8}, exif...), hugeimage.JPEG(4032, 3024)[2:]...)
	// Beyond the first megabyte, nothing is trusted.
	hugeMeta := append([]byte{0xff, 0xd8}, bytes.Repeat(exif, 4)...)
	hugeMeta = append(hugeMeta, hugeimage.JPEG(10, 10)[2:]...)

	for _, tt := range []struct {
		name      string
		mediaType string
		content   []byte
		want      error // nil, ErrImageTooLarge or ErrImageUnreadable
	}{
		{"a PNG declaring 20000×20000", "image/png", hugeimage.PNG(20000, 20000), ErrImageTooLarge},
		{"a PNG one pixel over the limit", "image/png", hugeimage.PNG(MaxImagePixels+1, 1), ErrImageTooLarge},
		{"a PNG at the limit", "image/png", hugeimage.PNG(10000, 5000), nil},
		{"a phone photo as PNG", "image/png", hugeimage.PNG(4032, 3024), nil},
		{"a PNG too large for the decoder", "image/png", hugeimage.PNG(1<<31-1, 1<<31-1), ErrImageUnreadable},
		{"a JPEG declaring 65535×65535", "image/jpeg", hugeimage.JPEG(65535, 65535), ErrImageTooLarge},
		{"a 50 MP phone photo", "image/jpeg", hugeimage.JPEG(8160, 6120), nil},
		{"a JPEG with 300 KiB of metadata", "image/jpeg", bigMeta, nil},
		{"a JPEG whose size is beyond the first MiB", "image/jpeg", hugeMeta, ErrImageUnreadable},
		{"a GIF declaring a huge screen", "image/gif", hugeimage.GIF(20000, 20000), ErrImageTooLarge},
		{"a GIF with a tiny screen and a huge first frame", "image/gif", hugeimage.GIFFrame(20000, 20000), ErrImageTooLarge},
		{"a small GIF", "image/gif", hugeimage.GIF(640, 480), nil},
		{"a WebP declaring 16384×16384", "image/webp", hugeimage.WebP(16384, 16384), ErrImageTooLarge},
		{"a small WebP", "image/webp", hugeimage.WebP(1024, 768), nil},
		{"a JPEG claiming to be a PNG", "image/png", hugeimage.JPEG(10, 10), ErrImageUnreadable},
		{"a PNG cut short", "image/png", hugeimage.PNG(10, 10)[:20], ErrImageUnreadable},
		{"empty", "image/png", nil, ErrImageUnreadable},
		{"garbage", "image/webp", []byte("RIFF....WEBPJUNK and more bytes to be long enough"), ErrImageUnreadable},
		// Only what pages show inline is checked; the rest is downloaded, never decoded.
		{"a PDF", "application/pdf", []byte("%PDF-1.7\n"), nil},
		{"a BMP", "image/bmp", []byte("BM garbage"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for name, wrap := range map[string]func(io.Reader) io.Reader{
				"whole": func(r io.Reader) io.Reader { return r }, "a byte at a time": iotest.OneByteReader,
			} {
				rd, err := CheckImage(wrap(bytes.NewReader(tt.content)), tt.mediaType)
				if tt.want == nil {
					require.NoError(t, err, name)
				} else {
					require.ErrorIs(t, err, tt.want, name)
					ie, ok := errors.AsType[*ImageError](err)
					require.True(t, ok, "%s: %T", name, err)
					require.Equal(t, tt.mediaType, ie.MediaType)
					require.NotEmpty(t, ie.Error())
				}
				got, rerr := io.ReadAll(rd)
				require.NoError(t, rerr, name)
				require.Equal(t, len(tt.content), len(got), "%s: the whole content is read back", name)
				require.True(t, bytes.Equal(tt.content, got), "%s: the content is read back unchanged", name)
			}
		})
	}
}

func TestImageErrorSaysWhy(t *testing.T) {
	_, err := CheckImage(bytes.NewReader(hugeimage.PNG(20000, 20000)), "image/png")
	require.EqualError(t, err, "the PNG image is 20000×20000 pixels (400 megapixels), over the limit of 50 megapixels")
	_, err = CheckImage(bytes.NewReader([]byte("not a png at all, but long enough")), "image/png")
	require.EqualError(t, err, "the size of the PNG image cannot be read (png: invalid format: not a PNG file)")
}

// A read error of the source is not judged: the returned reader gives it back, where the
// caller handles read errors (an upload over its size, a dropped connection).
func TestCheckImageLeavesReadErrorsToTheReader(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader([]byte("\x89PNG\r\n")), iotest.ErrReader(boom))
	rd, err := CheckImage(src, "image/png")
	require.NoError(t, err)
	got, err := io.ReadAll(rd)
	require.ErrorIs(t, err, boom)
	require.Equal(t, "\x89PNG\r\n", string(got))

	// Dimensions read before the error are judged all the same, and the error still comes.
	src = io.MultiReader(bytes.NewReader(hugeimage.PNG(20000, 20000)), iotest.ErrReader(boom))
	rd, err = CheckImage(iotest.OneByteReader(src), "image/png")
	require.ErrorIs(t, err, ErrImageTooLarge)
	_, err = io.ReadAll(rd)
	require.ErrorIs(t, err, boom)
}

// The rest of the content is not read before the caller reads it: a large upload streams.
func TestCheckImageReadsOnlyTheHead(t *testing.T) {
	content := append(hugeimage.PNG(100, 100), make([]byte, 10<<20)...)
	r := &countingReader{r: bytes.NewReader(content)}
	rd, err := CheckImage(r, "image/png")
	require.NoError(t, err)
	require.LessOrEqual(t, r.n, 4<<10)
	got, err := io.ReadAll(rd)
	require.NoError(t, err)
	require.Len(t, got, len(content))
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzImageSize: any content of any inline type is judged without panicking, never in more
// than the head's bytes, and read back unchanged, whether it arrives whole or a byte at a time.
func FuzzImageSize(f *testing.F) {
	for _, b := range [][]byte{hugeimage.PNG(1, 1), hugeimage.JPEG(1, 1), hugeimage.GIF(1, 1), hugeimage.GIFFrame(9, 9),
		hugeimage.WebP(1, 1), []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x05\x00\x00\x00\x2f\x00\x00\x00\x00\x00"),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8 \x0a\x00\x00\x00\x00\x00\x00\x9d\x01\x2a\x01\x00\x01\x00"),
		[]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00\x21\xf9\x04\x00\x00\x00\x00\x00\x3b")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		for _, mt := range []string{"image/png", "image/jpeg", "image/gif", "image/webp"} {
			w, h, _, err := imageSize(mt, content)
			if err == nil && (w < 0 || h < 0) {
				t.Fatalf("%s: negative size %d×%d", mt, w, h)
			}
			rd, verdict := CheckImage(bytes.NewReader(content), mt)
			got, rerr := io.ReadAll(rd)
			if rerr != nil || !bytes.Equal(got, content) {
				t.Fatalf("%s: content not read back unchanged: %v", mt, rerr)
			}
			rd, slow := CheckImage(iotest.OneByteReader(bytes.NewReader(content)), mt)
			if (verdict == nil) != (slow == nil) {
				t.Fatalf("%s: %v whole, %v a byte at a time", mt, verdict, slow)
			}
			if got, _ := io.ReadAll(rd); !bytes.Equal(got, content) {
				t.Fatalf("%s: content not read back unchanged a byte at a time", mt)
			}
		}
	})
}
