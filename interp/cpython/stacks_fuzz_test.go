package cpython

import "testing"

// FuzzDecodePyStack: ring records of any content decode or fail, never
// panic, and never claim more frames than they hold.
func FuzzDecodePyStack(f *testing.F) {
	rec := make([]byte, pyEventHeader+2*16)
	rec[20] = 2
	f.Add(rec)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodePyStack(b)
		if err != nil {
			return
		}
		if pyEventHeader+len(st.Frames)*16 > len(b) {
			t.Fatalf("%d frames from %d bytes", len(st.Frames), len(b))
		}
	})
}
