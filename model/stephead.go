package model

import "encoding/binary"

// headTemplate is the head of the layout with the values of one line in
// place, when they are all naturals (seq, t0, t1, tid): a trace's next
// lines mostly write those with as many digits, and then their head, up to
// the action's type, is matched a word at a time, the text as bytes and
// the values as digits, with no piece of it apart.
type headTemplate struct {
	words  [headMax / 8]tword
	nw     int      // the words of the head
	n      int      // the head's length: the index of the type's value
	firsts [4]int32 // the first digit of each value of more than one digit, else 0
	nf     int
	seqAt  int // where seq lies: [seqAt, seqAt+seqLen)
	seqLen int
}

// headMax is the length of the longest head with a template; a line is
// matched against it with headAt bytes at hand (the line and those after
// it: the head, the type's value, and more), else piece by piece.
const (
	headMax = 128
	headAt  = headMax + 16
)

// tword is a word of a head template: text its bytes, with the digits of a
// value as '0'; mask 0xff at the bytes of text and 0xf0 at the digits (a
// digit's high half is 3); digits 0x40 at the digits, the bit that adding
// 6 to a byte from 0x30 to 0x3f sets when it is above '9'.
type tword struct{ text, mask, digits uint64 }

// diff is 0 when the 8 bytes at b are the word's: its text, and digits.
// Adding 6 to every byte carries into the next one only from a byte of
// 0xfa or more: at a digit or the text (ASCII), the mask finds it already;
// past the head, no digit follows.
func (w *tword) diff(b []byte) uint64 {
	x := binary.LittleEndian.Uint64(b)
	return (x^w.text)&w.mask | (x+ones*6)&w.digits
}

// match reads the head of line b against the template, and the action's
// type after it: it returns the index after the type's value, or -1, with
// s.seq and s.typ read.
func (t *headTemplate) match(b *[headAt]byte, s *stepScan) int {
	// Every word up to 14, those past the head too (no text, no digits):
	// no loop, and a branch on the first 8 (which keeps the loads of the
	// next words where they are used); the last two only for a head that
	// reaches them (the compact and the json.dumps spellings' heads mostly
	// fit in 14).
	w := &t.words
	d := w[0].diff(b[0:]) | w[1].diff(b[8:]) | w[2].diff(b[16:]) | w[3].diff(b[24:])
	d |= w[4].diff(b[32:]) | w[5].diff(b[40:]) | w[6].diff(b[48:]) | w[7].diff(b[56:])
	if d != 0 {
		return -1
	}
	d = w[8].diff(b[64:]) | w[9].diff(b[72:]) | w[10].diff(b[80:]) | w[11].diff(b[88:])
	d |= w[12].diff(b[96:]) | w[13].diff(b[104:])
	if t.nw > 14 {
		d |= w[14].diff(b[112:]) | w[15].diff(b[120:])
	}
	if d != 0 {
		return -1
	}
	// No leading zero: the unused firsts are 0, the line's first byte.
	f := &t.firsts
	if b[f[0]&(headMax-1)] == '0' || b[f[1]&(headMax-1)] == '0' || b[f[2]&(headMax-1)] == '0' || b[f[3]&(headMax-1)] == '0' {
		return -1
	}
	if t.seqLen <= 8 {
		x := binary.LittleEndian.Uint64(b[t.seqAt&(headMax-1):]) - zeros
		s.seq = digitsValue(x << (64 - 8*t.seqLen))
	} else {
		s.seq, _ = scanNat(b[:], t.seqAt)
	}
	if s.seq == 0 {
		return -1
	}
	i := t.n & (headMax - 1) // t.n, below headMax
	switch v := binary.LittleEndian.Uint64(b[i:]); {
	case v&m6 == vPost:
		s.typ = Post
		return i + 6
	case v == vComment && b[i+8] == '"':
		s.typ = Comment
		return i + 9
	case v == vRegister && binary.LittleEndian.Uint64(b[i+2:]) == vRegister2:
		s.typ = Register
		return i + 10
	case v == vDistrib && binary.LittleEndian.Uint64(b[i+4:]) == vDistrib2:
		s.typ = Distribute
		return i + 12
	}
	return -1
}

// template makes the head template of line b, whose head the layout's
// keys match, or none when the head holds other values.
func (l *layout) template(b []byte) {
	t := &l.tmpl
	t.nw, t.nf, t.n, t.seqLen, l.misses = 0, 0, 0, 0, 0
	t.firsts = [4]int32{}
	i := 0
	var text, digits []byte // the head's bytes as template bytes
	text, digits = l.tbuf[:0], l.dbuf[:0]
	for _, y := range l.keys {
		text = append(text, y.text...)
		for range y.text {
			digits = append(digits, 0)
		}
		i += len(y.text)
		if y.f == sType {
			break
		}
		if y.f&(sSeq|sT0|sT1|sTID) == 0 {
			return
		}
		j := scanDigits(b, i)
		if j < 0 || (y.f == sTID && j-i > 18) { // a tid of 19 digits may exceed 2^62
			return
		}
		if j-i > 1 {
			if t.nf == len(t.firsts) {
				return
			}
			t.firsts[t.nf] = int32(i)
			t.nf++
		}
		if y.f == sSeq {
			t.seqAt, t.seqLen = i, j-i
		}
		for ; i < j; i++ {
			text, digits = append(text, '0'), append(digits, 1)
		}
	}
	l.tbuf, l.dbuf = text, digits
	if len(text) >= headMax || t.seqLen == 0 {
		return
	}
	t.words = [headMax / 8]tword{}
	for k := 0; k < len(text); k += 8 {
		var w tword
		for x := 0; x < 8 && k+x < len(text); x++ {
			sh := 8 * x
			w.text |= uint64(text[k+x]) << sh
			if digits[k+x] != 0 {
				w.mask |= 0xf0 << sh
				w.digits |= 0x40 << sh
			} else {
				w.mask |= 0xff << sh
			}
		}
		t.words[k/8] = w
	}
	t.nw, t.n = (len(text)+7)/8, len(text)
}

// typeAt reads the action's type at b[i]; it returns it and the index
// after it, or -1.
func typeAt(b []byte, i int) (ActionType, int) {
	switch v := word(b, i); {
	case v&m6 == vPost:
		return Post, i + 6
	case v == vComment && b[i+8] == '"':
		return Comment, i + 9
	case v == vRegister && word(b, i+2) == vRegister2:
		return Register, i + 10
	case v == vDistrib && word(b, i+4) == vDistrib2:
		return Distribute, i + 12
	}
	return 0, -1
}
