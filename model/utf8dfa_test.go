package model

import (
	"encoding/binary"
	"math/rand"
	"testing"
	"unicode/utf8"
)

// TestUTF8Automaton holds utf8Four, the UTF-8 automaton scanString runs 4
// bytes at a time, to utf8.Valid: on 16 bytes read 4 at a time, each run
// starting in the state the one before ends in, it accepts exactly what
// utf8.Valid accepts, and ends inside a sequence exactly when the bytes
// are valid up to a sequence cut short at their end.
func TestUTF8Automaton(t *testing.T) {
	// Bytes at the edges of UTF-8's classes, and plain ones.
	edges := []byte{'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xff}
	r := rand.New(rand.NewSource(1))
	var b [16]byte
	for n := 0; n < 2_000_000; n++ {
		for i := range b {
			b[i] = edges[r.Intn(len(edges))]
		}
		if n%3 != 0 { // valid text too, in every alignment, maybe cut short
			s := []rune{'é', '€', '😀', 'x', 0x10ffff, 0xd7ff, 0xe000, 0x800, 0x10000, 0xfffd}
			var text []byte
			for len(text) < 20 {
				text = utf8.AppendRune(text, s[r.Intn(len(s))])
			}
			copy(b[:], text[r.Intn(4):])
			if n%3 == 2 { // and broken in a byte or two
				for k := r.Intn(2); k >= 0; k-- {
					b[r.Intn(len(b))] = edges[r.Intn(len(edges))]
				}
			}
		}
		st := uint64(utf8Accept)
		for k := 0; k < 16; k += 4 {
			st = utf8Four(uint64(binary.LittleEndian.Uint32(b[k:])), st)
		}
		valid := utf8.Valid(b[:])
		if (st == utf8Accept) != valid {
			t.Fatalf("% x: the automaton ends in state %d, utf8.Valid says %v", b, st, valid)
		}
		// Inside a sequence: valid once the sequence is completed.
		cut := false
		for k := 1; k <= 3 && !valid; k++ {
			if c := b[16-k]; c >= 0xc0 {
				cut = utf8.Valid(b[:16-k]) && !utf8.FullRune(b[16-k:])
				break
			}
		}
		if inside := st != utf8Accept && st != utf8Error; inside != cut {
			t.Fatalf("% x: the automaton ends in state %d; valid up to a sequence cut short: %v", b, st, cut)
		}
	}
}

// TestScanStringLongAgreesWithDecoder: on long strings of valid and broken
// UTF-8 and escapes, whose sequences cross the words scanString reads,
// the scanner takes exactly the strings the decoder takes and counts the
// scalar values it decodes.
func TestScanStringLongAgreesWithDecoder(t *testing.T) {
	pieces := []string{"a", " say ", "é", "Ωμέγα", "日本語", "데이터", "😀", "👩\u200d💻", "nai\u0308ve", "\U0010ffff",
		`\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`, `\uD83D\uDE00`, `\ud800`, `\udc00`, `\ud800\u0041`, `\u12`, `\x`,
		"\xc3", "\xa9", "\xe6\x97", "\xed\xa0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xff", "\x1f", "\x7f"}
	r := rand.New(rand.NewSource(2))
	var sp strSpan
	taken := 0
	for n := 0; n < 200_000; n++ {
		line := []byte(`"`)
		for k := r.Intn(12); k >= 0; k-- {
			if r.Intn(4) == 0 { // mostly valid text, some of it broken
				line = append(line, pieces[r.Intn(len(pieces))]...)
			} else {
				line = append(line, pieces[r.Intn(10)]...)
			}
		}
		line = append(line, `","padding after the string"}`...)
		if scanAgrees(t, line, &sp) >= 0 {
			taken++
		}
	}
	if taken < 10_000 {
		t.Fatalf("only %d strings taken: the test reads too few valid ones", taken)
	}
}
