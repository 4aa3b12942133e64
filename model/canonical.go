package model

import "strings"

// decodeCanonical decodes a step record written in the canonical layout: the
// keys in the order of docs/trace-format.md, no unknown fields, no capping, as
// the probe bindings and AppendRecord write it, with any JSON whitespace
// between tokens (as json.dumps or an indenting writer spaces it):
//
//	{"kind":"step","seq":N,"t0":N,"t1":N,"tid":N,"action":{"type":"post","author":S,"content":S},"state":{"agent_id":S,"shard_id":N,"data":[N,…]}}
//
// It matches the keys as literal bytes instead of scanning them, and reports
// false at the first byte that differs from that layout (or at any error),
// leaving the line to the general parser. What it accepts, the general parser
// accepts with the same result (a fuzz test checks it), so it changes speed
// only.
func decodeCanonical(p *parser, rec *Record) bool {
	if !p.lit(litHead) {
		return false
	}
	var err error
	if rec.Seq, err = p.u64("seq"); err != nil || rec.Seq == 0 {
		return false
	}
	if !p.lit(litT0) {
		return false
	}
	if rec.T0, err = p.u64("t0"); err != nil || !p.lit(litT1) {
		return false
	}
	if rec.T1, err = p.u64("t1"); err != nil || !p.lit(litTID) {
		return false
	}
	if rec.TID, err = p.id("tid"); err != nil || !p.lit(litType) {
		return false
	}
	a := &rec.Action
	switch {
	case p.lit(litPost):
		a.Type = Post
	case p.lit(litComment):
		a.Type = Comment
	case p.lit(litRegister):
		a.Type = Register
	case p.lit(litDistrib):
		a.Type = Distribute
	default:
		return false
	}
	switch a.Type {
	case Post, Comment:
		b, ok := p.canonicalStr()
		if !ok || !p.lit(litContent) {
			return false
		}
		a.Author = p.internStr(b, &p.lastAuthor)
		if b, ok = p.canonicalStr(); !ok {
			return false
		}
		p.setContent(a, b)
	case Register:
		b, ok := p.canonicalStr()
		if !ok {
			return false
		}
		a.Name = p.internStr(b, &p.lastName)
	case Distribute:
		if a.Items, err = p.natList(a.Items, "action.items"); err != nil {
			return false
		}
	}
	if !p.lit(litState) {
		return false
	}
	b, ok := p.canonicalStr()
	if !ok || !p.lit(litShard) {
		return false
	}
	rec.State.AgentID = p.internStr(b, &p.lastAgent)
	if rec.State.ShardID, err = p.nat("state.shard_id", -1); err != nil || !p.lit(litData) {
		return false
	}
	if rec.State.Data, err = p.natList(rec.State.Data, "state.data"); err != nil || !p.lit(litCloseBoth) {
		return false
	}
	if p.peek() != 0 {
		return false
	}
	rec.Kind = KindStep
	return true
}

// literal is a piece of the canonical layout: its bytes, and the same cut
// into tokens (each separator or bracket alone, and the runs between them),
// between which JSON allows whitespace.
type literal struct {
	s     string
	dumps string // s as Python's json.dumps spaces it: ", " and ": "
	end   bool   // s ends with a separator or bracket: space may follow
	toks  []string
}

func lit(s string) *literal {
	l := &literal{s: s, dumps: strings.NewReplacer(",", ", ", ":", ": ").Replace(s), end: structural(s[len(s)-1])}
	for k := 0; k < len(s); {
		j := k + 1
		if !structural(s[k]) {
			for j < len(s) && !structural(s[j]) {
				j++
			}
		}
		l.toks = append(l.toks, s[k:j])
		k = j
	}
	return l
}

// The literals of decodeCanonical. They hold no spaces, and their runs of
// string bytes none of the separators, so matching them token by token is
// matching the compact spelling with any JSON whitespace between tokens.
var (
	litHead      = lit(`{"kind":"step","seq":`)
	litT0        = lit(`,"t0":`)
	litT1        = lit(`,"t1":`)
	litTID       = lit(`,"tid":`)
	litType      = lit(`,"action":{"type":"`)
	litPost      = lit(`post","author":`)
	litComment   = lit(`comment","author":`)
	litRegister  = lit(`register","name":`)
	litDistrib   = lit(`distribute","items":`)
	litContent   = lit(`,"content":`)
	litState     = lit(`},"state":{"agent_id":`)
	litShard     = lit(`,"shard_id":`)
	litData      = lit(`,"data":`)
	litCloseBoth = lit(`}}`)
)

// lit consumes l if the input continues with it, allowing JSON whitespace
// between its tokens, before it when it starts with a separator or bracket,
// and after it when it ends with one: the compact spelling is one
// comparison, json.dumps's ", " and ": " (or an indented line) cost one
// comparison a token.
func (p *parser) lit(l *literal) bool {
	if s := l.s; len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s) // compact
		if l.end && p.i < len(p.b) && p.b[p.i] <= ' ' {
			p.ws()
		}
		return true
	}
	return p.litSpaced(l)
}

// litSpaced is lit for a spelling with whitespace.
func (p *parser) litSpaced(l *literal) bool {
	b, i, s := p.b, p.i, l.s
	if i < len(b) && b[i] != s[0] && b[i] > ' ' {
		return false // another key or type
	}
	if d := l.dumps; len(b)-i >= len(d) && string(b[i:i+len(d)]) == d && (len(b) == i+len(d) || b[i+len(d)] > ' ') {
		p.i = i + len(d)
		return true
	}
	for k, t := range l.toks {
		if i < len(b) && b[i] <= ' ' && (k > 0 || structural(t[0])) {
			for i < len(b) && isSpace(b[i]) {
				i++
			}
		}
		if len(b)-i < len(t) || string(b[i:i+len(t)]) != t {
			return false
		}
		i += len(t)
	}
	p.i = i
	if structural(s[len(s)-1]) {
		p.ws()
	}
	return true
}

// structural reports whether c is a JSON separator or bracket.
func structural(c byte) bool {
	return c == ',' || c == ':' || c == '{' || c == '}' || c == '[' || c == ']'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// canonicalStr parses a string with the cursor on its opening quote.
func (p *parser) canonicalStr() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	b, err := p.strq()
	return b, err == nil
}
