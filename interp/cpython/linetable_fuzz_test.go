package cpython

import "testing"

// FuzzLineTables feeds arbitrary bytes to the line-table decoders: they
// must not panic, and the ranges they return must be ordered and non-empty.
func FuzzLineTables(f *testing.F) {
	f.Add([]byte{0x80, 0x00, 0xd8, 0x04, 0x05, 0xf8}, 1)
	f.Add([]byte{0x06, 0x01, 0x08, 0xff, 0x02, 0x80}, 10)
	f.Add([]byte{0xf0, 0x7f, 0x7f, 0x7f, 0x01}, 3)
	f.Fuzz(func(t *testing.T, table []byte, first int) {
		for _, r := range [][]pyLineRange{decodeLnotab(table, first), decodeLinetable310(table, first), decodeLocationTable(table, first)} {
			end := 0
			for _, x := range r {
				if x.start < end || x.end <= x.start {
					t.Fatalf("ranges out of order: %+v", r)
				}
				end = x.end
				if line, ok := lineAt(r, uint32(x.start)); ok != (x.line >= 0) || (ok && line != x.line) {
					t.Fatalf("lineAt(%d) = %d, %v; range %+v", x.start, line, ok, x)
				}
			}
		}
	})
}
