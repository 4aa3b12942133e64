// The records the V8 frame walker (v8.bpf.c) shares with Go (interp/v8):
// bpf2go generates their Go types with -type.
#ifndef TRACER_V8_H
#define TRACER_V8_H

#define V8_MAX_FRAMES 128 // JS frames recorded per sample
#define V8_FP_BELOW 48    // bytes of a frame read below its frame pointer
#define V8_WINDOW 64      // V8_FP_BELOW + saved frame pointer + return address

// v8_frame.flags
#define V8_FRAME_INTERPRETED 1 // Ignition: offset is the bytecode offset
#define V8_FRAME_LEAF 2        // pc is the sampled instruction, not a return address

// v8_event.err
#define V8_ERR_NONE 0
#define V8_ERR_READ 1 // a read of the stack or heap failed mid-walk

// Counters in v8_stats.
#define V8_STAT_SAMPLES 0   // samples of a described process
#define V8_STAT_EMITTED 1   // events written to the ring
#define V8_STAT_READ_ERR 2  // walks cut short by a failed read
#define V8_STAT_TRUNCATED 3 // stacks with more than V8_MAX_FRAMES JS frames
#define V8_STAT_RING_FULL 4 // events lost because the ring was full
#define V8_STAT_NO_JS 5     // samples with no JS frame on the stack
#define V8_STAT_MAX 6

// v8_config describes one node process: where its code is and the layout of
// the V8 objects the walk reads, all taken from the binary's v8dbg_* symbols.
struct v8_config {
	__u64 text_lo, text_hi; // the node binary's executable segment, as mapped
	__u64 blob_lo, blob_hi; // the embedded builtins inside it
	__u64 copy_lo, copy_hi; // their copy near the JIT code, when V8 made one
	// Window indexes (V8_FP_BELOW + the frame pointer offset) of the slots
	// of a standard frame.
	__u32 fp_context;        // context, or a frame-type marker (a Smi) in typed frames
	__u32 fp_function;       // the JSFunction
	__u32 fp_bytecode_array; // interpreted frames: the BytecodeArray
	__u32 fp_bytecode_offset;// interpreted frames: the bytecode offset (a Smi)
	__u32 off_map;           // HeapObject::map
	__u32 off_instance_type; // Map::instance_type (u16)
	__u32 off_shared;        // JSFunction::shared
	__u32 off_sfi_name;      // SharedFunctionInfo::name_or_scope_info
	__u16 type_function_lo, type_function_hi; // JSFunction instance types
	__u16 type_context_lo, type_context_hi;   // Context instance types
};

// v8_frame is one JS frame.
struct v8_frame {
	__u64 pc;       // the instruction running in the frame (a return address unless V8_FRAME_LEAF)
	__u64 sfi;      // the JSFunction's SharedFunctionInfo (tagged pointer)
	__u64 sfi_name; // its name_or_scope_info word at the time of the sample
	__u64 bytecode; // interpreted frames: the BytecodeArray (tagged pointer); other leaf
	                // frames: a return address found at the stack pointer, or 0
	__u32 offset;   // interpreted frames: the bytecode offset
	__u32 flags;    // V8_FRAME_*
};

struct v8_event {
	__u32 pid;
	__u32 tid;
	__u64 ktime;
	__u32 cpu;
	__u16 n;
	__u8 truncated;
	__u8 err;
	struct v8_frame frames[V8_MAX_FRAMES];
};

#endif
