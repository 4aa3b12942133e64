package cpython

import (
	"slices"
	"testing"

	"github.com/tracer-dev/tracer/symbolize"
)

func names(fs []symbolize.Frame) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name())
	}
	return out
}

func TestMergePython(t *testing.T) {
	lib := "/usr/lib/libpython3.12.so.1.0"
	nat := func(name, module string) symbolize.Frame {
		return symbolize.Frame{Function: name, Module: module, Kind: symbolize.Native}
	}
	py := func(name string) symbolize.Frame {
		return symbolize.Frame{Function: name, Module: "[python]", Kind: symbolize.Python}
	}
	eval := nat("_PyEval_EvalFrameDefault", lib)
	segs := [][]symbolize.Frame{{py("leaf"), py("mid")}, {py("main"), py("<module>")}}
	cases := []struct {
		name   string
		native []symbolize.Frame
		segs   [][]symbolize.Frame
		want   []string
	}{
		{"every activation placed",
			[]symbolize.Frame{nat("sqrt", "/lib/libm.so.6"), nat("math_sqrt", lib), eval, nat("PyObject_Call", lib), nat("_PyEval_EvalFrameDefault.cold", lib), nat("Py_RunMain", lib), nat("main", "/bin/python3.12"), nat("__libc_start_call_main", "/lib/libc.so.6")},
			segs,
			[]string{"sqrt", "math_sqrt", "leaf", "mid", "PyObject_Call", "main", "<module>", "Py_RunMain", "main", "__libc_start_call_main"}},
		{"stack not whole: frames past the last activation dropped",
			[]symbolize.Frame{eval, nat("PyObject_Call", lib), eval, nat("stale", lib), {Addr: 0x1234}},
			segs,
			[]string{"leaf", "mid", "PyObject_Call", "main", "<module>"}},
		{"unwinding stopped after the first activation",
			[]symbolize.Frame{eval, nat("garbage", lib)},
			segs,
			[]string{"leaf", "mid", "main", "<module>"}},
		{"no activation: leaf C code stays",
			[]symbolize.Frame{nat("clock_gettime", "[vdso]"), nat("pymonotonic", lib), nat("garbage", lib)},
			segs,
			[]string{"clock_gettime", "pymonotonic", "leaf", "mid", "main", "<module>"}},
		{"no python frames",
			[]symbolize.Frame{nat("f", lib), eval},
			nil,
			[]string{"f", "_PyEval_EvalFrameDefault"}},
		{"more activations than segments (python stack truncated)",
			[]symbolize.Frame{eval, nat("x", lib), eval, nat("start_thread", "/lib/libc.so.6")},
			[][]symbolize.Frame{{py("only")}},
			[]string{"only", "x", "_PyEval_EvalFrameDefault", "start_thread"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := names(MergeFrames(c.native, c.segs))
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v\nwant %v", got, c.want)
			}
		})
	}
}
