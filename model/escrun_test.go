package model

import (
	"strings"
	"testing"
)

// TestScanStringEscapeRuns: on runs of up to three escapes, joined or
// between spaces, with lone high and low surrogates at each place of a
// turn of two escapes, pairs in either case of digits, malformed \u after a
// surrogate and in the second escape of a turn, and the run cut by the end
// of the line (fewer than 16 bytes at hand), the scanner takes exactly the
// strings the decoder takes and counts the scalar values it decodes.
func TestScanStringEscapeRuns(t *testing.T) {
	escs := []string{`\u0041`, `\u00e9`, `\uffff`, `\ud83d`, `\uDBFF`, `\uD800`, `\ude00`, `\uDC00`, `\udfff`,
		`\u12`, `\u12g4`, `\uD8`, `\n`, `\"`, `\\`, `\x`}
	var inner []string
	for _, a := range escs {
		inner = append(inner, a)
		for _, sep := range []string{"", " ", "x"} {
			for _, b := range escs {
				inner = append(inner, a+sep+b)
				for _, c := range escs {
					inner = append(inner, a+sep+b+c)
				}
			}
		}
	}
	var sp strSpan
	for _, in := range inner {
		for pre := 0; pre < 9; pre++ {
			for _, post := range []string{"", ` `, ",\"padding after the string\"}"} {
				line := []byte(`"` + strings.Repeat("y", pre) + in + `"` + post)
				end := scanAgrees(t, line, &sp)
				if end >= 0 && sp.esc != strings.Contains(in, `\`) {
					t.Fatalf("%q: esc %v", line, sp.esc)
				}
			}
		}
	}
}
