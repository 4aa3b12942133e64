package export

import (
	"io"
	"math/bits"
)

// The pprof encoder writes the builder's tables as the protocol buffer of
// github.com/google/pprof/proto/profile.proto, field by field. Samples go
// first, grouped by stack (pprofBuilder.addSamples), in chunks, so that the
// whole profile is never held encoded; the string table goes last, once
// every label has been interned.

// Field numbers of profile.proto.
const (
	profSampleType    = 1
	profSample        = 2
	profMapping       = 3
	profLocation      = 4
	profFunction      = 5
	profStringTable   = 6
	profTimeNanos     = 9
	profDurationNanos = 10
	profPeriodType    = 11
	profPeriod        = 12
	profComment       = 13

	sampleLocationID = 1
	sampleValue      = 2
	sampleLabel      = 3

	labelKey = 1
	labelStr = 2
	labelNum = 3

	mappingID           = 1
	mappingStart        = 2
	mappingLimit        = 3
	mappingOffset       = 4
	mappingFilename     = 5
	mappingBuildID      = 6
	mappingHasFunctions = 7
	mappingHasFilenames = 8
	mappingHasLines     = 9

	locationID        = 1
	locationMappingID = 2
	locationAddress   = 3
	locationLine      = 4

	lineFunctionID = 1
	lineLine       = 2

	functionID         = 1
	functionName       = 2
	functionSystemName = 3
	functionFilename   = 4

	valueTypeType = 1
	valueTypeUnit = 2
)

// pbuf is a protocol buffer being appended to.
type pbuf []byte

func (b pbuf) varint(v uint64) pbuf {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// uint appends a varint field, omitted when zero (proto3).
func (b pbuf) uint(field int, v uint64) pbuf {
	if v == 0 {
		return b
	}
	return b.varint(uint64(field) << 3).varint(v)
}

func (b pbuf) int(field int, v int64) pbuf { return b.uint(field, uint64(v)) }

func (b pbuf) bool(field int, v bool) pbuf {
	if !v {
		return b
	}
	return b.uint(field, 1)
}

// bytes appends a length-delimited field.
func (b pbuf) bytes(field int, v []byte) pbuf {
	b = b.varint(uint64(field)<<3 | 2).varint(uint64(len(v)))
	return append(b, v...)
}

func (b pbuf) string(field int, v string) pbuf {
	b = b.varint(uint64(field)<<3 | 2).varint(uint64(len(v)))
	return append(b, v...)
}

// varintLen is the length of v as a varint.
func varintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// uintLen is the length of what uint(field, v) appends.
func uintLen(field int, v uint64) int {
	if v == 0 {
		return 0
	}
	return varintLen(uint64(field)<<3) + varintLen(v)
}

// labelLen is the length of a Label message's fields.
func labelLen(key, str, num int64) int {
	return uintLen(labelKey, uint64(key)) + uintLen(labelStr, uint64(str)) + uintLen(labelNum, uint64(num))
}

// label appends a sample's Label message, whose fields are n bytes long
// (labelLen).
func (b pbuf) label(n int, key, str, num int64) pbuf {
	return b.varint(sampleLabel<<3|2).varint(uint64(n)).int(labelKey, key).int(labelStr, str).int(labelNum, num)
}

// fieldLen is the length of a length-delimited field of n bytes.
func fieldLen(field, n int) int { return varintLen(uint64(field)<<3|2) + varintLen(uint64(n)) + n }

// encode writes the profile to w.
func (b *pprofBuilder) encode(w io.Writer) error {
	var out, msg, sub pbuf
	for i := range b.samples {
		// Written straight into out, lengths computed ahead: a sample is
		// one copy of its stack's location IDs and a few varints.
		s := &b.samples[i]
		stack := b.stacks[s.stack].enc
		vals := varintLen(uint64(s.count)) + varintLen(uint64(s.nanos))
		lComm, lAction := labelLen(b.kComm, int64(s.comm), 0), labelLen(b.kAction, int64(s.action), 0)
		lPID, lTID, lStep := labelLen(b.kPID, 0, int64(s.pid)), labelLen(b.kTID, 0, int64(s.tid)), labelLen(b.kStep, 0, int64(s.step))
		n := len(stack) + fieldLen(sampleValue, vals) + fieldLen(sampleLabel, lPID) + fieldLen(sampleLabel, lTID)
		if s.comm != 0 {
			n += fieldLen(sampleLabel, lComm)
		}
		if s.action != 0 {
			n += fieldLen(sampleLabel, lAction)
		}
		if s.step > 0 {
			n += fieldLen(sampleLabel, lStep)
		}
		out = out.varint(profSample<<3 | 2).varint(uint64(n))
		out = append(out, stack...)
		out = out.varint(sampleValue<<3 | 2).varint(uint64(vals)).varint(uint64(s.count)).varint(uint64(s.nanos))
		if s.comm != 0 {
			out = out.label(lComm, b.kComm, int64(s.comm), 0)
		}
		if s.action != 0 {
			out = out.label(lAction, b.kAction, int64(s.action), 0)
		}
		out = out.label(lPID, b.kPID, 0, int64(s.pid))
		out = out.label(lTID, b.kTID, 0, int64(s.tid))
		if s.step > 0 {
			out = out.label(lStep, b.kStep, 0, int64(s.step))
		}
		if len(out) >= 128<<10 {
			if _, err := w.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	valueType := func(field int, typ, unit string) {
		sub = sub[:0].int(valueTypeType, b.str(typ)).int(valueTypeUnit, b.str(unit))
		out = out.bytes(field, sub)
	}
	valueType(profSampleType, "samples", "count")
	valueType(profSampleType, "cpu", "nanoseconds")
	for i, m := range b.maps {
		msg = msg[:0].uint(mappingID, uint64(i+1)).uint(mappingStart, m.start).uint(mappingLimit, m.limit).
			uint(mappingOffset, m.offset).int(mappingFilename, m.file).int(mappingBuildID, m.buildID).
			bool(mappingHasFunctions, m.hasFunctions).bool(mappingHasFilenames, m.hasFiles).bool(mappingHasLines, m.hasLine)
		out = out.bytes(profMapping, msg)
	}
	for i, l := range b.locs {
		msg = msg[:0].uint(locationID, uint64(i+1)).uint(locationMappingID, l.mapping).uint(locationAddress, l.addr)
		if l.fn > 0 {
			sub = sub[:0].uint(lineFunctionID, l.fn).int(lineLine, l.line)
			msg = msg.bytes(locationLine, sub)
		}
		out = out.bytes(profLocation, msg)
		if len(out) >= 128<<10 {
			if _, err := w.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	for i, f := range b.funcs {
		msg = msg[:0].uint(functionID, uint64(i+1)).int(functionName, f.name).int(functionSystemName, f.system).int(functionFilename, f.file)
		out = out.bytes(profFunction, msg)
	}
	out = out.int(profTimeNanos, b.timeNanos()).int(profDurationNanos, b.src.Duration.Nanoseconds())
	valueType(profPeriodType, "cpu", "nanoseconds")
	out = out.int(profPeriod, b.src.period())
	for _, c := range b.comments() {
		out = out.int(profComment, b.str(c))
	}
	for _, s := range b.strs {
		out = out.string(profStringTable, s)
	}
	_, err := w.Write(out)
	return err
}
