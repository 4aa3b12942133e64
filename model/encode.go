package model

import (
	"strconv"
	"unicode/utf8"
)

// The encoders below write the trace-format forms, so a State, Action or Record
// marshals to exactly what a trace holds and DecodeRecord reads back.

// MarshalJSON writes s as a trace-format state.
func (s State) MarshalJSON() ([]byte, error) { return appendState(nil, s, -1), nil }

// MarshalJSON writes a as a trace-format action.
func (a Action) MarshalJSON() ([]byte, error) { return appendAction(nil, a, -1), nil }

// AppendRecord appends r as one trace-format line, without the newline.
func AppendRecord(b []byte, r Record) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, r.Kind)
	if r.Kind == KindLost {
		b = append(b, `,"batches":`...)
		b = strconv.AppendUint(b, r.Lost, 10)
		return append(b, '}')
	}
	if r.Kind == KindInit {
		if r.Impl != "" {
			b = append(b, `,"impl":`...)
			b = appendString(b, r.Impl)
		}
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(r.PID), 10)
	} else {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, r.Seq, 10)
		b = append(b, `,"t0":`...)
		b = strconv.AppendUint(b, r.T0, 10)
		b = append(b, `,"t1":`...)
		b = strconv.AppendUint(b, r.T1, 10)
		b = append(b, `,"tid":`...)
		b = strconv.AppendInt(b, int64(r.TID), 10)
		if r.HasPre {
			b = append(b, `,"pre":`...)
			b = appendState(b, r.Pre, -1)
		}
		b = append(b, `,"action":`...)
		b = appendAction(b, r.Action, -1)
	}
	b = append(b, `,"state":`...)
	b = appendState(b, r.State, -1)
	return append(b, '}')
}

// appendState writes s; with max >= 0 the data list is shortened to max items
// followed by a note (for people, not machines).
func appendState(b []byte, s State, max int) []byte {
	b = append(b, `{"agent_id":`...)
	b = appendString(b, s.AgentID)
	b = append(b, `,"shard_id":`...)
	b = appendNat(b, s.ShardID)
	if s.DataCapped {
		b = append(b, `,"data_len":`...)
		b = strconv.AppendUint(b, s.DataLen, 10)
		b = append(b, `,"data_capped":true}`...)
		return b
	}
	b = append(b, `,"data":`...)
	b = appendNats(b, s.Data, max)
	return append(b, '}')
}

func appendAction(b []byte, a Action, max int) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, a.Type.String())
	switch a.Type {
	case Register:
		b = append(b, `,"name":`...)
		b = appendString(b, a.Name)
	case Post, Comment:
		b = append(b, `,"author":`...)
		b = appendString(b, a.Author)
		if a.ContentCapped {
			b = append(b, `,"content_len":`...)
			b = strconv.AppendUint(b, a.ContentLen, 10)
			b = append(b, `,"content_capped":true`...)
			break
		}
		b = append(b, `,"content":`...)
		if max >= 0 && utf8.RuneCountInString(a.Content) > 4*max {
			r := []rune(a.Content)
			b = appendString(b, string(r[:4*max]))
			b = append(b, " …("...)
			b = strconv.AppendInt(b, int64(len(r)), 10)
			b = append(b, " chars)"...)
		} else {
			b = appendString(b, a.Content)
		}
	case Distribute:
		if a.ItemsCapped {
			b = append(b, `,"items_len":`...)
			b = strconv.AppendUint(b, a.ItemsLen, 10)
			b = append(b, `,"items_capped":true`...)
			break
		}
		b = append(b, `,"items":`...)
		b = appendNats(b, a.Items, max)
	}
	return append(b, '}')
}

func appendNats(b []byte, d []Nat, max int) []byte {
	b = append(b, '[')
	for i, n := range d {
		if max >= 0 && i == max {
			b = append(b, ",… "...)
			b = strconv.AppendInt(b, int64(len(d)-max), 10)
			b = append(b, " more"...)
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNat(b, n)
	}
	return append(b, ']')
}

// appendString writes s as a JSON string; non-ASCII text stays as UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
