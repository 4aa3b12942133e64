package model

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// numberOf matches the value of a member that is a natural, in either
// spelling: the key, the colon, and the digits (group 1).
func numberOf(key string) *regexp.Regexp {
	return regexp.MustCompile(`"` + key + `": ?(\d+)`)
}

// setNumber writes v for the value of key in line, in place of the digits.
func setNumber(line []byte, key, v string) []byte {
	re := numberOf(key)
	m := re.FindSubmatchIndex(line)
	if m == nil {
		return line
	}
	return append(append(append([]byte(nil), line[:m[2]]...), v...), line[m[3]:]...)
}

// TestHeadTemplateAgrees: lines whose head the template reads (the naturals
// before the action's type with as many digits as the line it was made of)
// and lines it must not take (a leading zero, a byte that is not a digit
// where one was, a tid above 2^62, seq 0) give the decoder's result, as do
// lines whose numbers change length for good or back and forth, in both
// spellings, read from a reader and from a mapped file.
func TestHeadTemplateAgrees(t *testing.T) {
	mutations := map[string]func(i int, line []byte) []byte{
		"none": func(i int, line []byte) []byte { return line },
		// Same length, a leading zero: the decoder rejects the line.
		"leading zero": func(i int, line []byte) []byte {
			if i%50 != 7 {
				return line
			}
			d := numberOf("t0").FindSubmatch(line)[1]
			return setNumber(line, "t0", "0"+string(d[:len(d)-1]))
		},
		"not a digit": func(i int, line []byte) []byte {
			if i%40 != 9 {
				return line
			}
			d := []byte(string(numberOf("t1").FindSubmatch(line)[1]))
			d[i%len(d)] = ":/ -.e"[i%6]
			return setNumber(line, "t1", string(d))
		},
		"big tid": func(i int, line []byte) []byte {
			switch {
			case i >= 100 && i < 110:
				return setNumber(line, "tid", "4611686018427387904") // 2^62
			case i >= 110 && i < 113:
				return setNumber(line, "tid", "4611686018427387905")
			case i >= 113 && i < 116:
				return setNumber(line, "tid", "9999999999999999999")
			}
			return line
		},
		"seq 0": func(i int, line []byte) []byte {
			if i == 5 {
				return setNumber(line, "seq", "0")
			}
			return line
		},
		// A head of more than 14 words, its action's type key misspelt
		// now and then near its end.
		"long head": func(i int, line []byte) []byte {
			line = setNumber(line, "t0", fmt.Sprintf("100000000000000%04d", i))
			line = setNumber(line, "t1", fmt.Sprintf("100000000000001%04d", i))
			line = setNumber(line, "tid", "100000000000000042")
			if i%40 == 13 {
				line = bytes.Replace(line, []byte(`"type"`), []byte(`"typo"`), 1)
			}
			return line
		},
		// t0 one digit shorter for good from line 200, tid alternating
		// between 4 and 5 digits on lines 300 to 340.
		"lengths change": func(i int, line []byte) []byte {
			if i >= 200 {
				d := numberOf("t0").FindSubmatch(line)[1]
				line = setNumber(line, "t0", string(d[:len(d)-1]))
			}
			if i >= 300 && i < 340 && i%2 == 0 {
				line = setNumber(line, "tid", "42420")
			}
			return line
		},
	}
	trace := genTrace(600, 5)
	for name, mutate := range mutations {
		for _, dumps := range []bool{false, true} {
			var out []byte
			for i, line := range bytes.SplitAfter(respell(trace, spelling{dumps: dumps}), []byte("\n")) {
				if bytes.Contains(line, []byte(`"step"`)) {
					line = mutate(i, line)
				}
				out = append(out, line...)
			}
			for _, rel := range []Relation{Exact, Bisim} {
				t.Run(fmt.Sprintf("%s/dumps=%v/%v", name, dumps, rel), func(t *testing.T) {
					res, falls := checkWays(t, out, "t", rel)
					switch name {
					case "none", "lengths change":
						if falls != 1 || !strings.Contains(res, `"verdict":"conforming"`) {
							t.Errorf("%d lines left to the decoder, want 1: %s", falls, res)
						}
					default:
						if strings.Contains(res, `"undecodable_lines":0,`) && strings.Contains(res, `"invalid_records":0,`) {
							t.Errorf("no line undecodable or invalid: %s", res)
						}
					}
				})
			}
		}
	}
}

// TestHeadTemplateUsed: after the first line of a trace, the heads of the
// next lines with as many digits are read by the template, its values
// those the pieces read; seq 10 has one more digit and is missed.
func TestHeadTemplateUsed(t *testing.T) {
	for _, dumps := range []bool{false, true} {
		lines := bytes.SplitAfter(respell(genTrace(50, 2), spelling{dumps: dumps}), []byte("\n"))
		var s stepScan
		if !s.scan(bytes.TrimSuffix(lines[1], []byte("\n"))) {
			t.Fatalf("first step not taken: %q", lines[1])
		}
		if s.layout.tmpl.nw == 0 {
			t.Fatalf("no template of %q", lines[1])
		}
		b := append(append([]byte(nil), lines[10]...), bytes.Repeat([]byte("x"), headAt)...)
		if s.layout.tmpl.match((*[headAt]byte)(b), &s) >= 0 {
			t.Fatalf("template took %q", lines[10])
		}
		for _, line := range lines[2:10] {
			b := append(append([]byte(nil), line...), bytes.Repeat([]byte("x"), headAt)...)
			p := s
			if i := s.layout.tmpl.match((*[headAt]byte)(b), &s); i < 0 {
				t.Fatalf("template missed %q", line)
			}
			seq, typ := s.seq, s.typ
			if i := p.pieces(b, 0, p.layout.head); i < 0 || p.seq != seq || p.typ != typ {
				t.Fatalf("pieces read %d, %v, template %d, %v: %q", p.seq, p.typ, seq, typ, line)
			}
		}
	}
}

// TestReplayCutShort: a line whose layout matches the one kept but which is
// cut short anywhere (in its head, in its last 32 bytes, in its last value)
// is not taken as a whole line, read in place with the lines after it or at
// the end of the buffer or file; the result is the decoder's.
func TestReplayCutShort(t *testing.T) {
	for _, dumps := range []bool{false, true} {
		lines := bytes.SplitAfter(respell(genTrace(40, 4), spelling{dumps: dumps}), []byte("\n"))
		head := bytes.Join(lines[:12], nil)
		line := bytes.TrimSuffix(lines[12], []byte("\n"))
		rest := bytes.Join(lines[13:], nil)
		for cut := 1; cut < len(line); cut++ {
			if cut > 40 && cut < len(line)-48 && cut%7 != 0 {
				continue
			}
			for _, tail := range [][]byte{[]byte("\n"), []byte("\n" + string(rest)), nil} {
				trace := append(append(append([]byte(nil), head...), line[:cut]...), tail...)
				checkWays(t, trace, "t", Exact)
			}
		}
	}
}

// TestReplayNearEnd: a trace cut at any byte of its last lines (the last
// line without its newline, or cut short in it) gives the decoder's result,
// from a reader and from a mapped file: lines near the end of the bytes at
// hand are read with fewer bytes after them than the layout's words.
func TestReplayNearEnd(t *testing.T) {
	for _, dumps := range []bool{false, true} {
		trace := respell(genTrace(30, 6), spelling{dumps: dumps})
		for k := 0; k < 400 && k < len(trace); k++ {
			checkWays(t, trace[:len(trace)-k], "t", Exact)
		}
	}
}

// TestReplaySpacingChanges: a trace whose spacing or key order changes from
// one stretch of lines to the next, and back, is checked as the decoder
// checks it, and its lines are all taken by the fast path.
func TestReplaySpacingChanges(t *testing.T) {
	trace := genTrace(400, 8)
	var spells []spelling
	for _, sp := range spellings {
		spells = append(spells, sp)
	}
	texts := make([][][]byte, len(spells))
	for k, sp := range spells {
		texts[k] = bytes.SplitAfter(respell(trace, sp), []byte("\n"))
	}
	var out []byte
	for i := range texts[0] {
		out = append(out, texts[(i/30)%len(texts)][i]...)
	}
	for _, rel := range []Relation{Exact, Bisim} {
		res, falls := checkWays(t, out, "t", rel)
		if falls != 1 || !strings.Contains(res, `"verdict":"conforming"`) {
			t.Errorf("%d lines left to the decoder, want 1: %s", falls, res)
		}
	}
}
