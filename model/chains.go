package model

import (
	"encoding/binary"
	"hash/maphash"
)

// maxChains bounds the threads whose last state a checker remembers; steps of
// further threads are still checked from their pre, only not followed.
const maxChains = 4096

// chains follows, per thread, the last state a step with pre left, so that a
// pre that is not that state is noted as a new chain (a state the program
// built, or one from another call) rather than judged. A state is remembered
// by a 64-bit hash, so memory stays bounded whatever the states hold; a hash
// collision could only hide a new-chain note, never change a verdict.
type chains struct {
	seed maphash.Seed
	last map[int]uint64
	h    maphash.Hash
	buf  []byte
}

// follow notes r (a step with pre) in res: a new chain when r.Pre is not the
// last state on r's thread (or, for a thread's first step, the init state
// init when it is the trace's first step). Then r's state becomes the last.
func (ch *chains) follow(res *Result, r *Record, init *State) {
	if ch.last == nil {
		ch.seed = maphash.MakeSeed()
		ch.last = make(map[int]uint64)
	}
	pre := ch.sum(&r.Pre)
	last, seen := ch.last[r.TID]
	switch {
	case seen && last != pre:
		ch.newChain(res, r.Seq)
	case !seen && init != nil && ch.sum(init) != pre:
		ch.newChain(res, r.Seq)
	}
	if seen || len(ch.last) < maxChains {
		ch.last[r.TID] = ch.sum(&r.State)
	}
}

func (ch *chains) newChain(res *Result, seq uint64) {
	res.NewChains++
	res.NewChainSeqs = addSeqs(res.NewChainSeqs, seq, seq)
}

// sum hashes a state: every field, with the data list in the trace's own
// encoding (exact digits).
func (ch *chains) sum(s *State) uint64 {
	ch.h.SetSeed(ch.seed)
	ch.buf = appendState(ch.buf[:0], *s, -1)
	ch.h.Write(ch.buf)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(ch.buf)))
	ch.h.Write(n[:])
	return ch.h.Sum64()
}
