package bpf

import "unsafe"

// Record is a generated type that a program writes into a ring.
type Record interface {
	PyperfPyEvent | PyperfPyCodeEvent | CaptureBatchHdr | CaptureExecEvent
}

// Read copies the start of a ring record into v and returns how many bytes
// it copied. A record may end before v does (a py_event holds only its n
// frames); the rest of v is left as it was. The programs are built for
// little-endian x86-64 (bpfel), the host's byte order, so the generated
// types are the records' layout.
func Read[T Record](b []byte, v *T) int {
	return copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)), b)
}
