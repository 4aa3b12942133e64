/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * tracer.h: every struct, counter index and flag that crosses between
 * tracer's BPF programs and Go. Each struct and enum here is generated into
 * Go by bpf2go -type (see the *_gen.go files beside the programs), so Go
 * decodes ring records and fills map values through the generated types;
 * bpf/layout_test.go pins their sizes.
 *
 * One section per program. A new program adds its section here, names
 * each of its types that no map uses in its keep_tracer_types pointer (a
 * type reaches the BTF, and so bpf2go, only through a variable), and adds
 * a -type flag per type to its *_gen.go.
 */
#ifndef TRACER_H
#define TRACER_H

/* ---- pyperf.bpf.c: Python frames ---- */

enum py_limits {
	PY_MAX_FRAMES = 128, /* frames one py_event holds */
};

/* Layouts of the frame chain (py_config.layout). */
enum py_layout {
	PY_LAYOUT_310 = 1, /* PyFrameObject chain: tstate->frame, f_back, f_lasti */
	PY_LAYOUT_311 = 2, /* tstate->cframe->current_frame, is_entry, prev_instr */
	PY_LAYOUT_312 = 3, /* tstate->cframe->current_frame, owner, prev_instr */
	PY_LAYOUT_313 = 4, /* tstate->current_frame, owner, instr_ptr */
	PY_LAYOUT_38 = 5,  /* as PY_LAYOUT_310, f_lasti in bytes (3.8, 3.9) */
};

/* Bits of py_frame.offset: the low 28 bits are the instruction's byte
 * offset, PY_OFFSET_NONE when unknown. */
enum py_frame_bits {
	PY_OFFSET_NONE = 0x0fffffff, /* also the mask of the offset bits */
	PY_FRAME_ENTRY = 0x80000000, /* the outermost frame of one eval-loop activation */
};

/* Errors in py_event.err. */
enum py_err {
	PY_ERR_NONE = 0,
	PY_ERR_NO_TSTATE = 1, /* no thread state matched this thread */
	PY_ERR_READ = 2,      /* a read of interpreter memory failed mid-walk */
};

/* Indices of the per-CPU py_stats map. */
enum py_stat {
	PY_STAT_SAMPLES = 0,   /* samples of a described process */
	PY_STAT_EMITTED = 1,   /* events written to the ring */
	PY_STAT_NO_TSTATE = 2, /* thread without a matching thread state */
	PY_STAT_READ_ERR = 3,  /* failed reads of interpreter memory */
	PY_STAT_TRUNCATED = 4, /* stacks deeper than PY_MAX_FRAMES */
	PY_STAT_RING_FULL = 5, /* events lost because the ring was full */
	PY_STAT_CACHE_HIT = 6, /* thread state found through the per-thread cache */
	PY_STAT_NEW_CODE = 7,  /* code objects seen for the first time (reader woken) */
	PY_STAT_BY_EXE = 8,    /* processes recognised in the kernel by their interpreter mapping */
	PY_STAT_MAX = 9,
};

/* The py_procs map value: where one process's interpreter keeps what the
 * walk reads. Every field but runtime and layout is a byte offset. */
struct py_config {
	__u64 runtime;		    /* address of _PyRuntime in the process */
	__u32 layout;		    /* enum py_layout */
	__u32 runtime_interp_head;  /* _PyRuntime.interpreters.head */
	__u32 interp_next;	    /* PyInterpreterState.next */
	__u32 interp_threads_head;  /* PyInterpreterState.threads.head (tstate_head) */
	__u32 tstate_next;	    /* PyThreadState.next */
	__u32 tstate_thread_id;	    /* PyThreadState.thread_id (pthread_t) */
	__u32 tstate_frame;	    /* .frame (3.10), .cframe (3.11, 3.12), .current_frame (3.13) */
	__u32 cframe_current_frame; /* _PyCFrame.current_frame (3.11, 3.12) */
	__u32 frame_code;	    /* f_code / f_executable */
	__u32 frame_previous;	    /* f_back / previous */
	__u32 frame_instr;	    /* f_lasti (int, code units) / prev_instr / instr_ptr */
	__u32 frame_owner;	    /* is_entry (3.11) / owner (3.12+) */
	__u32 code_adaptive;	    /* PyCodeObject.co_code_adaptive (3.11+) */
	__u32 code_firstlineno;	    /* PyCodeObject.co_firstlineno */
	__u32 frame_window;	    /* bytes of a frame to read: its last used field's end */
	__u32 file;		    /* userspace's number for the interpreter file */
	__u32 code_name;	    /* PyCodeObject.co_qualname (co_name in 3.10) */
	__u32 code_filename;	    /* PyCodeObject.co_filename */
	__u32 unicode_state;	    /* PyASCIIObject.state */
	__u32 unicode_length;	    /* PyASCIIObject.length */
	__u32 unicode_ascii_size;   /* sizeof(PyASCIIObject): compact ASCII data follows */
	__u32 code_linetable;	    /* PyCodeObject.co_linetable (a bytes object) */
	__u32 bytes_size;	    /* PyVarObject.ob_size of a bytes object */
	__u32 bytes_data;	    /* PyBytesObject.ob_sval */
	__u32 pad;
};

/* A py_events record that is not a py_event starts with PY_CODE_RECORD
 * where a py_event has its pid. */
enum py_code_limits {
	PY_CODE_RECORD = 0xffffffff,
	PY_CODE_NAME_MAX = 128, /* bytes of a name kept (a power of two) */
	PY_CODE_FILE_MAX = 256, /* bytes of a file name kept (a power of two) */
	PY_CODE_LINES_MAX = 16384, /* bytes of a line table kept (a power of two) */
};

/* A py_events record written before the first stack that holds a code
 * object not seen before (py_seen): its name, file name and the start of
 * its line table, read while it is certainly alive, for when it is freed
 * before userspace reads it. A name or file length of 0 means not read
 * (not an ASCII string); lines_len is what was copied of the table (at
 * most PY_CODE_LINES_MAX - 1 bytes, its start when it is longer), and the
 * record ends there. */
struct py_code_event {
	__u32 kind; /* PY_CODE_RECORD */
	__u32 pid;
	__u64 code;
	__s32 firstlineno;
	__u16 name_len;
	__u16 file_len;
	__u16 lines_len;
	__u16 pad;
	char name[PY_CODE_NAME_MAX];
	char file[PY_CODE_FILE_MAX];
	__u8 lines[PY_CODE_LINES_MAX];
};

/* The py_files map key: an interpreter file (libpython, or a python
 * executable that holds the interpreter), by its inode. Its value is a
 * py_config whose runtime is _PyRuntime's distance from the start of the
 * file's executable mapping minus its file offset, so that a process whose
 * sample falls in that code is recognised then, whatever started it. */
struct py_file_key {
	__u64 ino;
	__u32 dev; /* the superblock's s_dev */
	__u32 pad;
};

/* One Python frame of a py_event. */
struct py_frame {
	__u64 code;	   /* address of the code object */
	__u32 offset;	   /* byte offset of the instruction, PY_FRAME_ENTRY flag */
	__s32 firstlineno; /* co_firstlineno read with the frame */
};

/* The py_events ring record: the Python stack of one sampled thread, leaf
 * first. The record is cut after frames[n]. */
struct py_event {
	__u32 pid;
	__u32 tid;
	__u64 ktime; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u32 cpu;
	__u16 n;	/* frames that follow */
	__u8 truncated; /* deeper than PY_MAX_FRAMES */
	__u8 err;	/* enum py_err */
	__u64 tstate;	/* the thread state walked */
	__u32 file;	/* py_config.file of the process */
	__u32 pad;
	struct py_frame frames[PY_MAX_FRAMES];
};

/* ---- capture.bpf.c: transition capture ---- */

/* Indices of the per-CPU counters map. */
enum capture_counter {
	CTR_HITS = 0,	   /* uprobe hits, batches or not */
	CTR_BATCHES = 1,   /* batches submitted to the ring */
	CTR_TRUNCATED = 2, /* framed writes longer than FRAME_MAX: first FRAME_MAX bytes sent */
	CTR_MALFORMED = 3, /* magic present but the byte count is not 16 + N */
	CTR_RING_FULL = 4, /* ring reservation failed: the batch is lost */
	CTR_READ_FAIL = 5, /* user memory could not be read */
	CTR_EXEC_LOST = 6, /* exec events of tracked processes lost: the ring was full */
	CTR_NOT_SINK = 7,  /* batches written to a file that is not the binding's sink: ignored */
	CTR_MAX = 8,
};

/* Flags in batch_hdr.flags. */
enum batch_flag {
	BATCH_TRUNCATED = 1, /* the write was longer than FRAME_MAX: its first bytes follow */
};

/* The batches ring record's header; the copied bytes of the write follow. */
struct batch_hdr {
	__u32 pid;    /* thread group id */
	__u32 tid;    /* thread id */
	__u64 ktime;  /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u32 count;  /* the write's byte count */
	__u32 copied; /* bytes that follow this header */
	__u32 flags;  /* enum batch_flag */
	__u32 fd;     /* the descriptor written to: with pid, the stream (one Probe) */
};

/* Flags of a tracked process (the tracked map value, exec_event.flags). */
enum track_flag {
	TRACK_STOP = 1, /* stop the process at exec until tracer continues it */
};

/* The execs ring record: a tracked process exec'd. */
struct exec_event {
	__u32 pid;   /* thread group id */
	__u32 flags; /* enum track_flag; TRACK_STOP only if the process was stopped */
};

#endif /* TRACER_H */
