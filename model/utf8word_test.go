package model

import (
	"encoding/binary"
	"math/rand"
	"testing"
	"unicode/utf8"
)

// TestUTF8Word holds utf8Word, the readable form of the word-at-a-time
// UTF-8 check scanString does inline, to utf8.Valid: on words whose
// sequences all end inside the word it agrees with utf8.Valid, and it
// counts their continuation bytes.
func TestUTF8Word(t *testing.T) {
	// Bytes at the edges of UTF-8's classes, and plain ones.
	edges := []byte{0x00, 'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xff}
	r := rand.New(rand.NewSource(1))
	var b [16]byte
	for n := 0; n < 2_000_000; n++ {
		for i := range b {
			b[i] = edges[r.Intn(len(edges))]
		}
		if n%2 == 0 { // valid text too, in every alignment
			s := []rune{'é', '€', '😀', 'x', 0x10ffff, 0xd7ff, 0xe000}
			var text []byte
			for len(text) < 16 {
				text = utf8.AppendRune(text, s[r.Intn(len(s))])
			}
			copy(b[:], text[r.Intn(3):])
		}
		// next holds the byte after each of w's, as scanString builds it.
		w := binary.LittleEndian.Uint64(b[:8])
		next := w>>8 | uint64(b[8])<<56
		conts, due, ok := utf8Word(w, next, 0)
		valid := utf8.Valid(b[:8])
		if ok && due == 0 && !valid {
			t.Fatalf("% x: utf8Word takes it, utf8.Valid does not", b[:8])
		}
		if valid && !(ok && due == 0) {
			t.Fatalf("% x: utf8.Valid takes it, utf8Word gives ok %v due %#x", b[:8], ok, due)
		}
		if valid {
			want := 0
			for _, c := range b[:8] {
				if c&0xc0 == 0x80 {
					want++
				}
			}
			if conts != want {
				t.Fatalf("% x: %d continuation bytes, want %d", b[:8], conts, want)
			}
		}
	}
}
