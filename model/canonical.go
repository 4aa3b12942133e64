package model

// decodeCanonical decodes a step record written in the canonical layout: the
// keys in the order of docs/trace-format.md, no spaces, no unknown fields, no
// capping, as the probe bindings and AppendRecord write it:
//
//	{"kind":"step","seq":N,"t0":N,"t1":N,"tid":N,"action":{"type":"post","author":S,"content":S},"state":{"agent_id":S,"shard_id":N,"data":[N,…]}}
//
// It matches the keys as literal bytes instead of scanning them, and reports
// false at the first byte that differs from that layout (or at any error),
// leaving the line to the general parser. What it accepts, the general parser
// accepts with the same result (a fuzz test checks it), so it changes speed
// only.
func decodeCanonical(p *parser, rec *Record) bool {
	if !p.lit(`{"kind":"step","seq":`) {
		return false
	}
	var err error
	if rec.Seq, err = p.u64("seq"); err != nil || rec.Seq == 0 {
		return false
	}
	if !p.lit(`,"t0":`) {
		return false
	}
	if rec.T0, err = p.u64("t0"); err != nil || !p.lit(`,"t1":`) {
		return false
	}
	if rec.T1, err = p.u64("t1"); err != nil || !p.lit(`,"tid":`) {
		return false
	}
	if rec.TID, err = p.id("tid"); err != nil || !p.lit(`,"action":{"type":"`) {
		return false
	}
	a := &rec.Action
	switch {
	case p.lit(`post","author":`):
		a.Type = Post
	case p.lit(`comment","author":`):
		a.Type = Comment
	case p.lit(`register","name":`):
		a.Type = Register
	case p.lit(`distribute","items":`):
		a.Type = Distribute
	default:
		return false
	}
	switch a.Type {
	case Post, Comment:
		b, ok := p.canonicalStr()
		if !ok || !p.lit(`,"content":`) {
			return false
		}
		a.Author = intern(p.lastAuthor, b)
		p.lastAuthor = a.Author
		if b, ok = p.canonicalStr(); !ok {
			return false
		}
		a.Content = string(b)
	case Register:
		b, ok := p.canonicalStr()
		if !ok {
			return false
		}
		a.Name = intern(p.lastName, b)
		p.lastName = a.Name
	case Distribute:
		if a.Items, err = p.natList(a.Items, "action.items"); err != nil {
			return false
		}
	}
	if !p.lit(`},"state":{"agent_id":`) {
		return false
	}
	b, ok := p.canonicalStr()
	if !ok || !p.lit(`,"shard_id":`) {
		return false
	}
	rec.State.AgentID = intern(p.lastAgent, b)
	p.lastAgent = rec.State.AgentID
	if rec.State.ShardID, err = p.nat("state.shard_id", -1); err != nil || !p.lit(`,"data":`) {
		return false
	}
	if rec.State.Data, err = p.natList(rec.State.Data, "state.data"); err != nil || !p.lit(`}}`) {
		return false
	}
	if p.peek() != 0 {
		return false
	}
	rec.Kind = KindStep
	return true
}

// lit consumes s if the input continues with s, allowing JSON whitespace
// between tokens: before s when it starts with a separator or closing bracket,
// around every ',' ':' '{' '[' '}' ']' inside s that stands outside a string,
// and after s when it ends with one of them. The literals of decodeCanonical
// hold no spaces and their strings hold none of those bytes, so this is the
// compact spelling byte for byte, and json.dumps's ", " and ": " (or an
// indented line) cost one extra comparison a separator.
func (p *parser) lit(s string) bool {
	b, i := p.b, p.i
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s { // compact
		i += len(s)
		if structural(s[len(s)-1]) && i < len(b) && b[i] <= ' ' {
			p.i = i
			p.ws()
			return true
		}
		p.i = i
		return true
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if i < len(b) && b[i] <= ' ' && (structural(c) || k > 0 && structural(s[k-1])) {
			for i < len(b) && isSpace(b[i]) {
				i++
			}
		}
		if i >= len(b) || b[i] != c {
			return false
		}
		i++
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
