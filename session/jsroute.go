package session

import (
	v8 "github.com/tracer-dev/tracer/interp/v8"
)

// nodeNeedsPerfMap says whether node at path gets its JS names only from a
// perf map: the V8 walker cannot read its binary (JSFrames says why when
// the binary is mapped). Any other node needs no flag.
func nodeNeedsPerfMap(path string) bool {
	_, err := v8.Inspect(path)
	return err != nil
}

// readsJS says whether a plugin reads the JS frames of pid from V8.
func (s *session) readsJS(pid int) bool {
	for _, pl := range s.cfg.Plugins {
		if r, ok := pl.(interface{ ReadsJS(pid int) bool }); ok && r.ReadsJS(pid) {
			return true
		}
	}
	return false
}
