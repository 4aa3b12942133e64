package export

import "io"

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

// packed appends a packed repeated varint field.
func (b pbuf) packed(field int, vs []uint64, scratch pbuf) (pbuf, pbuf) {
	scratch = scratch[:0]
	for _, v := range vs {
		scratch = scratch.varint(v)
	}
	return b.bytes(field, scratch), scratch
}

// encode writes the profile to w.
func (b *pprofBuilder) encode(w io.Writer) error {
	var (
		out, msg, sub, scratch pbuf
		vals                   [2]uint64
	)
	kComm, kAction, kPID, kTID, kStep := b.str("comm"), b.str("action"), b.str("pid"), b.str("tid"), b.str("step")
	label := func(m pbuf, key int64, str int64, num int64) pbuf {
		sub = sub[:0].int(labelKey, key).int(labelStr, str).int(labelNum, num)
		return m.bytes(sampleLabel, sub)
	}
	for i := range b.samples {
		s := &b.samples[i]
		msg = append(msg[:0], b.stacks[s.stack].enc...)
		vals[0], vals[1] = uint64(s.count), uint64(s.nanos)
		msg, scratch = msg.packed(sampleValue, vals[:], scratch)
		if s.comm != 0 {
			msg = label(msg, kComm, int64(s.comm), 0)
		}
		if s.action != 0 {
			msg = label(msg, kAction, int64(s.action), 0)
		}
		msg = label(msg, kPID, 0, int64(s.pid))
		msg = label(msg, kTID, 0, int64(s.tid))
		if s.step > 0 {
			msg = label(msg, kStep, 0, int64(s.step))
		}
		out = out.bytes(profSample, msg)
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
