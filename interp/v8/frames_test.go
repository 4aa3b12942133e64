package v8

import (
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/symbolize"
)

// JS frames take the place of the native frames of their instructions;
// native frames around them stay; inlined functions come before the
// function they were inlined into.
func TestMergeJS(t *testing.T) {
	k := symbolize.Frame{Function: "irq", Kind: symbolize.Kernel, Addr: 0xffff}
	n := func(name string, addr uint64) symbolize.Frame {
		return symbolize.Frame{Function: name, Kind: symbolize.Native, Addr: addr}
	}
	j := func(name string, addr uint64) symbolize.Frame {
		return symbolize.Frame{Function: name, Kind: symbolize.JS, Addr: addr}
	}
	stack := []symbolize.Frame{k, n("memcpy", 1), n("[anon]", 2), n("Builtins_InterpreterEntryTrampoline", 3), n("v8::Function::Call", 4), n("main", 5)}
	js := []jsAt{
		{pc: 2, frames: []symbolize.Frame{j("inlined", 2), j("outer", 2)}},
		{pc: 3, frames: []symbolize.Frame{j("caller", 3)}},
	}
	got := mergeJS(stack, js)
	var names []string
	for _, f := range got {
		names = append(names, f.Function)
	}
	want := "irq memcpy inlined outer caller v8::Function::Call main"
	if strings.Join(names, " ") != want {
		t.Errorf("merged %v, want %s", names, want)
	}
}
