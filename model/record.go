package model

import (
	"errors"
	"fmt"
)

// Record kinds (the "kind" field of the trace format).
const (
	KindInit = "init"
	KindStep = "step"
	// KindLost marks records that were lost where it stands: tracer writes
	// one when the capture lost batches, so a check of the file knows it.
	KindLost = "lost"
)

// Record is one decoded line of a trace (the trace format, docs/trace-format.md).
// An init record has Impl, PID and State; a step record has Seq, T0, T1, TID,
// Action and State (the state after the step). File and Line say where the
// record came from (set by Decoder; empty and 0 from DecodeRecord).
type Record struct {
	Kind   string
	Seq    uint64
	T0, T1 uint64 // CLOCK_MONOTONIC nanoseconds at the start and end of the step
	TID    int
	PID    int
	Impl   string
	Action Action
	State  State
	// Pre is the state the step started from, when the writer knows it
	// (HasPre): the step is then checked from Pre, on its own.
	Pre    State
	HasPre bool
	// Lost is the number of batches a lost record stands for (0: unknown).
	Lost uint64

	File string
	Line int
}

// DecodeRecord decodes one JSONL line (without or with its newline). Errors are
// *InputError values without a file or line.
func DecodeRecord(line []byte) (Record, error) {
	var rec Record
	var p parser
	if err := decodeInto(&p, line, &rec); err != nil {
		return Record{}, &InputError{Msg: err.Error()}
	}
	return rec, nil
}

// intern returns prev when b spells it, else a new string: consecutive records
// mostly repeat agent ids, names and authors, and this saves their allocation.
func intern(prev string, b []byte) string {
	if string(b) == prev {
		return prev
	}
	return string(b)
}

// resetRecord clears rec but keeps the capacity of its slices.
func resetRecord(rec *Record) {
	data, items, pre := rec.State.Data, rec.Action.Items, rec.Pre.Data
	*rec = Record{}
	rec.State.Data, rec.Action.Items, rec.Pre.Data = data[:0], items[:0], pre[:0]
}

// decodeInto decodes line into rec, reusing rec's data and items slices. A
// step written in the canonical layout (what the probe bindings write, with
// any spacing) is matched as literal bytes by decodeCanonical, which gives up
// at the first byte that differs; every other record (init and lost records,
// other key orders, unknown fields, capping) is read by decodeGeneral, which
// also writes every error message.
func decodeInto(p *parser, line []byte, rec *Record) error {
	resetRecord(rec)
	p.b, p.i = line, 0
	if decodeCanonical(p, rec) {
		return nil
	}
	resetRecord(rec)
	p.general++
	return decodeGeneral(p, line, rec)
}

// decodeGeneral decodes any valid record: keys in any order, any JSON
// spacing, unknown fields (skipped), nulls, capped lists. It guesses each
// key from the one before (a right guess is one comparison), takes single
// spaces around separators without a loop and scans strings 8 bytes at a
// time, so json.dumps's spelling costs about what the compact one does;
// decoding a record allocates only its new strings.
func decodeGeneral(p *parser, line []byte, rec *Record) error {
	p.b, p.i = line, 0

	if p.peek() != '{' {
		if p.i >= len(p.b) {
			return errors.New("not JSON: empty line")
		}
		if err := p.skip(0); err == nil {
			return errors.New("not a JSON object: a record is one object per line")
		}
		return p.unexpected()
	}
	var kind string // as written, when it is neither init nor step
	var hasKind, hasSeq, hasAction, hasState bool
	guess := "kind"
	var lostErr error
	p.i++ // the '{' seen by peek
	for first := true; ; first = false {
		key, ok, err := p.memberGuess(first, guess)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if p.null() {
			continue // null is the same as absent
		}
		switch string(key) {
		case "kind":
			guess = "seq"
			var b []byte
			b, err = p.text("kind")
			hasKind = err == nil
			switch string(b) {
			case KindInit:
				rec.Kind = KindInit
			case KindStep:
				rec.Kind = KindStep
			case KindLost:
				rec.Kind = KindLost
			default:
				rec.Kind, kind = "", string(b)
			}
		case "seq":
			guess = "t0"
			rec.Seq, err = p.u64("seq")
			hasSeq = true
		case "t0":
			guess = "t1"
			rec.T0, err = p.u64("t0")
		case "t1":
			guess = "tid"
			rec.T1, err = p.u64("t1")
		case "tid":
			guess = "action"
			rec.TID, err = p.id("tid")
		case "pid":
			guess = "state"
			rec.PID, err = p.id("pid")
		case "impl":
			guess = "pid"
			var s []byte
			if s, err = p.text("impl"); err == nil {
				rec.Impl = intern(p.lastImpl, s)
				p.lastImpl = rec.Impl
			}
		case "action":
			guess = "state"
			err = p.action(&rec.Action)
			hasAction = true
		case "state":
			err = p.state(&rec.State, "state")
			hasState = true
		case "pre":
			err = p.state(&rec.Pre, "pre")
			rec.HasPre = true
		case "batches":
			// Read for a lost record only; in another record it is a
			// writer's own field, ignored whatever it holds.
			rec.Lost, lostErr = p.u64("batches")
		default:
			err = p.skip(0)
		}
		if err != nil {
			return err
		}
	}
	if p.peek() != 0 {
		return p.errSyntax("extra text after the object")
	}
	switch {
	case !hasKind:
		return errors.New(`record has no "kind": want "init" or "step"`)
	case rec.Kind == "":
		return fmt.Errorf("unknown kind %q: want \"init\" or \"step\"", kind)
	case rec.Kind == KindLost:
		return lostErr
	case !hasState:
		return fmt.Errorf("%s record has no \"state\"", rec.Kind)
	case rec.Kind == KindStep && !hasSeq:
		return errors.New(`step record has no "seq"`)
	case rec.Kind == KindStep && rec.Seq == 0:
		return errors.New("step record has seq 0: seq counts from 1")
	case rec.Kind == KindStep && !hasAction:
		return errors.New(`step record has no "action"`)
	}
	return nil
}

// text parses a string field; a value of another type is named in the error.
func (p *parser) text(field string) ([]byte, error) {
	if p.i < len(p.b) && p.b[p.i] == '"' { // the common case: cursor on the quote
		b, err := p.strq()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return b, nil
	}
	if p.peek() != '"' {
		if err := p.skip(0); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: want a string", field)
	}
	b, err := p.str()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return b, nil
}

// id parses a process or thread id.
func (p *parser) id(field string) (int, error) {
	v, err := p.u64(field)
	if err != nil {
		return 0, err
	}
	if v > 1<<62 {
		return 0, fmt.Errorf("%s: %d is not a process or thread id", field, v)
	}
	return int(v), nil
}

// The names of a state's fields in error messages, made once: building
// them per record cost three allocations a step.
var (
	stateNames = [5]string{"state.agent_id", "state.shard_id", "state.data", "state.data_len", "state.data_capped"}
	preNames   = [5]string{"pre.agent_id", "pre.shard_id", "pre.data", "pre.data_len", "pre.data_capped"}
)

// stateFieldNames returns the names of the fields of the state object field.
func stateFieldNames(field string) *[5]string {
	switch field {
	case "state":
		return &stateNames
	case "pre":
		return &preNames
	}
	return &[5]string{field + ".agent_id", field + ".shard_id", field + ".data", field + ".data_len", field + ".data_capped"}
}

// state parses a state object into s (whose Data is already reset); field
// ("state" or "pre") names it in errors.
func (p *parser) state(s *State, field string) error {
	names := stateFieldNames(field)
	if p.peek() != '{' {
		if err := p.skip(0); err != nil {
			return err
		}
		return errors.New(field + ": want an object {agent_id, shard_id, data}")
	}
	var hasAgent, hasShard, hasData, hasLen bool
	guess := "agent_id"
	p.i++ // the '{' seen by peek
	for first := true; ; first = false {
		key, ok, err := p.memberGuess(first, guess)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if p.null() {
			continue
		}
		switch string(key) {
		case "agent_id":
			guess = "shard_id"
			var b []byte
			if b, err = p.text(names[0]); err != nil {
				return err
			}
			s.AgentID, hasAgent = p.internStr(b, &p.lastAgent), true
		case "shard_id":
			guess = "data"
			s.ShardID, err = p.nat(names[1], -1)
			hasShard = true
		case "data":
			s.Data, err = p.natList(s.Data, names[2])
			hasData = true
		case "data_len":
			s.DataLen, err = p.u64(names[3])
			hasLen = true
		case "data_capped":
			s.DataCapped, err = p.boolean(names[4])
		default:
			err = p.skip(0)
		}
		if err != nil {
			return err
		}
	}
	switch {
	case !hasAgent:
		return errors.New(field + ` has no "agent_id"`)
	case !hasShard:
		return errors.New(field + ` has no "shard_id"`)
	case s.DataCapped && hasData:
		return errors.New(field + ` has both "data" and "data_capped": a capped state omits data`)
	case s.DataCapped && !hasLen:
		return errors.New(`capped ` + field + ` has no "data_len"`)
	case !s.DataCapped && !hasData:
		return errors.New(field + ` has no "data"`)
	}
	if !s.DataCapped {
		s.DataLen = 0
	}
	return nil
}

// action parses an action object into a (whose Items is already reset).
func (p *parser) action(a *Action) error {
	if p.peek() != '{' {
		if err := p.skip(0); err != nil {
			return err
		}
		return errors.New(`action: want an object {"type": ...}`)
	}
	var typ string // as written, when it is no known type
	var hasType, hasName, hasAuthor, hasContent, hasContentLen, hasItems, hasItemsLen bool
	guess := "type"
	p.i++ // the '{' seen by peek
	for first := true; ; first = false {
		key, ok, err := p.memberGuess(first, guess)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if p.null() {
			continue
		}
		var b []byte
		switch string(key) {
		case "type":
			if b, err = p.text("action.type"); err == nil {
				hasType = true
				switch string(b) {
				case "register":
					a.Type, guess = Register, "name"
				case "post":
					a.Type, guess = Post, "author"
				case "comment":
					a.Type, guess = Comment, "author"
				case "distribute":
					a.Type, guess = Distribute, "items"
				default:
					a.Type, typ = 0, string(b)
				}
			}
		case "name":
			if b, err = p.text("action.name"); err == nil {
				a.Name, hasName = p.internStr(b, &p.lastName), true
			}
		case "author":
			guess = "content"
			if b, err = p.text("action.author"); err == nil {
				a.Author, hasAuthor = p.internStr(b, &p.lastAuthor), true
			}
		case "content":
			if b, err = p.text("action.content"); err == nil {
				p.setContent(a, b)
				hasContent = true
			}
		case "content_len":
			a.ContentLen, err = p.u64("action.content_len")
			hasContentLen = true
		case "content_capped":
			a.ContentCapped, err = p.boolean("action.content_capped")
		case "items":
			a.Items, err = p.natList(a.Items, "action.items")
			hasItems = true
		case "items_len":
			a.ItemsLen, err = p.u64("action.items_len")
			hasItemsLen = true
		case "items_capped":
			a.ItemsCapped, err = p.boolean("action.items_capped")
		default:
			err = p.skip(0)
		}
		if err != nil {
			return err
		}
	}
	switch a.Type {
	case 0:
		if !hasType {
			return errors.New(`action has no "type": want register, post, comment or distribute`)
		}
		return fmt.Errorf("unknown action type %q: want register, post, comment or distribute", typ)
	case Register:
		if !hasName {
			return errors.New(`register action has no "name"`)
		}
	case Post, Comment:
		switch {
		case !hasAuthor:
			return fmt.Errorf("%s action has no \"author\"", a.Type)
		case a.ContentCapped && hasContent:
			return fmt.Errorf("%s action has both \"content\" and \"content_capped\": a capped action omits content", a.Type)
		case a.ContentCapped && !hasContentLen:
			return fmt.Errorf("%s action with capped content has no \"content_len\"", a.Type)
		case !a.ContentCapped && !hasContent:
			return fmt.Errorf("%s action has no \"content\"", a.Type)
		}
	case Distribute:
		switch {
		case a.ItemsCapped && hasItems:
			return errors.New(`distribute action has both "items" and "items_capped": a capped action omits items`)
		case a.ItemsCapped && !hasItemsLen:
			return errors.New(`distribute action with capped items has no "items_len"`)
		case !a.ItemsCapped && !hasItems:
			return errors.New(`distribute action has no "items"`)
		}
	}
	if !a.ContentCapped {
		a.ContentLen = 0
	}
	if !a.ItemsCapped {
		a.ItemsLen = 0
	}
	return nil
}
