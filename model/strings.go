package model

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Strings that vary from record to record (a step's content) are copied into
// chunks of arenaChunk bytes, one allocation per chunk instead of one per
// record; a chunk is never written again once a string points into it, so
// the strings stay immutable, and the garbage collector frees a chunk when no
// string points into it any more.
const (
	arenaChunk = 64 << 10
	arenaMax   = 1 << 10 // longer strings get their own allocation
)

// arenaString returns b as a string, copied into the parser's arena.
func (p *parser) arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaMax {
		return string(b)
	}
	if cap(p.arena)-len(p.arena) < len(b) {
		p.arena = make([]byte, 0, arenaChunk)
	}
	start := len(p.arena)
	p.arena = append(p.arena, b...)
	return unsafe.String(&p.arena[start], len(b))
}

// internMax bounds the strings interned per parser: the container traces
// repeat a few hundred agent ids and authors; a trace of ever-new names
// stops being interned there and allocates each, as before.
const internMax = 4096

// internStr returns b as a string, the same string each time it recurs.
func (p *parser) internStr(b []byte, last *string) string {
	if string(b) == *last { // consecutive records mostly repeat an agent id
		return *last
	}
	*last = p.intern(b)
	return *last
}

func (p *parser) intern(b []byte) string {
	if s, ok := p.interned[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if len(b) > arenaMax || len(p.interned) >= internMax {
		return string(b)
	}
	if p.interned == nil {
		p.interned = make(map[string]string)
	}
	s := string(b)
	p.interned[s] = s
	return s
}

// setContent sets a's content to b, whose length in scalar values the
// string scan just read (and validated), so counting is cheap here and the
// checker need not read the string again.
func (p *parser) setContent(a *Action, b []byte) {
	a.Content = p.arenaString(b)
	if a.Type != Post { // only a post's content length is ever asked for
		return
	}
	n := len(b)
	if !p.ascii {
		n = utf8.RuneCount(b)
	}
	a.runes, a.runesOf = uint64(n), unsafe.StringData(a.Content)
}

// cloneContent gives a a content string of its own, so that a kept action
// (a divergence) does not hold a whole arena chunk.
func cloneContent(a *Action) {
	a.Content = strings.Clone(a.Content)
	a.runesOf = nil
}
