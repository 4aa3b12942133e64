package v8

// Frame translations of optimized code (V8 13): for each deoptimization
// point, the interpreter frames it would be turned back into, outermost
// first — which function (an index into the code's literal array), which
// BytecodeArray (an index into its protected literal array) and the
// bytecode offset. With them a point inside a function that Maglev inlined
// names the inlined function and its line, under the functions it was
// inlined into.
//
// The translation array is a byte array: per translation a BEGIN opcode,
// then one opcode per frame or value, each a byte followed by its operands
// as VLQs. MATCH_PREVIOUS_TRANSLATION(n) (or an opcode byte past the last
// opcode, n being the excess) stands for the next n opcodes of the
// translation that the BEGIN's first operand points back to.

// translationOps gives, per opcode of V8 13's translation format, its
// operand count; frame opcodes come first. The list is V8's
// TRANSLATION_OPCODE_LIST for builds with WebAssembly.
var translationOps = []int{
	6, 4, 3, 3, // interpreted frame with/without return, builtin continuation frames
	2, 1, 3, // construct create/invoke stub, builtin continuation
	4, 3, 3, // JS to Wasm continuation, Wasm inlined into JS, Liftoff
	2,       // inlined extra arguments
	1, 0, 0, // arguments elements, arguments length, rest length
	3, 3, // BEGIN without/with feedback
	1, 1, 1, 0, // bool register/slot, captured object, string concat
	1, 1, 1, 1, 1, 1, // double register/slot, simd128 slot, holey double register/slot, simd128 register
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, // duplicated object, float, int32, int64, signed and unsigned bigint64 (register/slot)
	0, 1, 1, 1, 1, 1, // optimized out, literal, register, tagged slot, uint32 register/slot
	2, 1, // update feedback, match previous translation
}

const (
	opFrameCount    = 11 // opcodes below this are frames
	opInterpWithRet = 0
	opInterpNoRet   = 1
	opBeginNoFeed   = 14
	opBeginFeed     = 15
	opMatchPrevious = 44
)

// transFrame is one interpreter frame of a translation.
type transFrame struct {
	fn, bytecode int // literal array, protected literal array indexes
	offset       int // bytecode offset
}

// translation reads the interpreter frames of the translation at index i
// of buf, outermost first; ok is false when the bytes do not parse as the
// format above.
func translation(buf []byte, i int) (frames []transFrame, ok bool) {
	t := &transReader{buf: buf, i: i}
	op, good := t.opcode()
	if !good || op != opBeginNoFeed && op != opBeginFeed {
		return nil, false
	}
	t.operand() // the lookback distance, read by opcode
	nFrames, nJS := t.operand(), t.operand()
	if !t.good || nFrames <= 0 || nFrames > 64 || nJS > nFrames {
		return nil, false
	}
	for seen := 0; seen < nFrames; {
		op, good := t.opcode()
		if !good || op == opBeginNoFeed || op == opBeginFeed {
			return nil, false
		}
		args := make([]int, translationOps[op])
		for k := range args {
			args[k] = t.operand()
		}
		if !t.good {
			return nil, false
		}
		if op >= opFrameCount {
			continue
		}
		seen++
		if op == opInterpWithRet || op == opInterpNoRet {
			frames = append(frames, transFrame{offset: args[0], fn: args[1], bytecode: args[2]})
		}
	}
	return frames, len(frames) > 0
}

// transReader walks a translation, following MATCH_PREVIOUS_TRANSLATION
// into the translation its BEGIN points back to.
type transReader struct {
	buf        []byte
	i          int  // the next byte of this translation
	prev       int  // the next byte of the previous one, when matching
	matching   int  // opcodes still to take from the previous translation
	sincePrev  int  // opcodes read since prev was last placed
	good       bool // no read past the end
	fromPrev   bool // operands come from prev
	prevFromOK bool
}

func (t *transReader) byteAt(p *int) (int, bool) {
	if *p < 0 || *p >= len(t.buf) {
		return 0, false
	}
	b := t.buf[*p]
	*p++
	return int(b), true
}

func (t *transReader) uvlqAt(p *int) (int, bool) {
	if *p < 0 || *p >= len(t.buf) {
		return 0, false
	}
	v, k := uvlq(t.buf[*p:])
	if k == 0 {
		return 0, false
	}
	*p += k
	return int(v), true
}

// operand reads one operand (sign-magnitude VLQs are read by magnitude:
// no operand used here is negative).
func (t *transReader) operand() int {
	p := &t.i
	if t.fromPrev {
		p = &t.prev
	}
	v, ok := t.uvlqAt(p)
	if !ok {
		t.good = false
		return 0
	}
	return v >> 1
}

// skipPrev skips one opcode and its operands of the previous translation.
func (t *transReader) skipPrev() bool {
	op, ok := t.byteAt(&t.prev)
	if !ok || op >= len(translationOps) || op == opMatchPrevious {
		return false
	}
	for k := 0; k < translationOps[op]; k++ {
		if _, ok := t.uvlqAt(&t.prev); !ok {
			return false
		}
	}
	return true
}

func (t *transReader) opcode() (int, bool) {
	t.good = true
	if t.matching > 0 {
		t.matching--
	}
	if t.matching > 0 {
		t.fromPrev = true
		op, ok := t.byteAt(&t.prev)
		if !ok || op >= opMatchPrevious {
			return 0, false
		}
		return op, true
	}
	t.fromPrev = false
	op, ok := t.byteAt(&t.i)
	if !ok {
		return 0, false
	}
	switch {
	case op > opMatchPrevious:
		t.matching = op - len(translationOps)
		op = opMatchPrevious
	case op == opMatchPrevious:
		n, ok := t.uvlqAt(&t.i)
		if !ok {
			return 0, false
		}
		t.matching = n
	}
	if op == opBeginNoFeed || op == opBeginFeed {
		p := t.i
		back, ok := t.uvlqAt(&p)
		if !ok {
			return 0, false
		}
		if back != 0 {
			t.prev = t.i - 1 - back
			t.prevFromOK = true
		}
		t.sincePrev = 1
		return op, true
	}
	if op == opMatchPrevious {
		if !t.prevFromOK || t.matching <= 0 {
			return 0, false
		}
		for k := 0; k < t.sincePrev; k++ {
			if !t.skipPrev() {
				return 0, false
			}
		}
		t.sincePrev = 0
		t.fromPrev = true
		op, ok := t.byteAt(&t.prev)
		if !ok || op >= opMatchPrevious {
			return 0, false
		}
		return op, true
	}
	t.sincePrev++
	return op, true
}
