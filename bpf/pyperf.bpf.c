//go:build ignore

/*
 * pyperf: a perf_event program that reads the Python stack of the sampled
 * thread. It runs in the overflow handler of the cpu-clock samplers, just
 * before the kernel writes the perf sample, so each record it emits pairs with
 * the sample of the same thread taken at (nearly) the same time.
 *
 * For a process whose interpreter userspace has described in py_procs, it
 *   1. finds the thread's PyThreadState: the tstate whose thread_id (the
 *      pthread_t, which on x86-64 glibc is the thread's fs base) equals the
 *      task's thread.fsbase; a per-thread cache remembers the last match and
 *      is checked before it is trusted;
 *   2. walks the frame chain from that thread's own current frame (not the GIL
 *      holder's) to at most PY_MAX_FRAMES frames, recording for each the code
 *      object address, the instruction byte offset and co_firstlineno (a guard
 *      against a freed code object whose address was reused);
 *   3. emits one py_event into the ring buffer.
 * The return value 1 keeps the perf sample.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "tracer.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define PY_MAX_THREADS	256
#define PY_MAX_INTERPS	4
#define PY_WINDOW	128
#define PY_WAKEUP_BYTES (256 << 10)

#define FRAME_OWNED_BY_CSTACK 3

struct py_scratch {
	__u8 win[PY_WINDOW + 16];
	__u8 fresh; /* the stack holds a code object not seen before */
	struct py_event ev;
	struct py_code_event code; /* written to the ring cut after its line table */
};

/*
 * Code objects already reported, by process, address, co_firstlineno and
 * co_filename (another object at a reused address is reported again). A
 * stack holding one not in here wakes the reader at once (instead of at its
 * next poll), so that userspace names the code object while it is alive: a
 * module body is freed as soon as its import ends, and its address reused.
 */
struct py_code_key {
	__u64 code;
	__u64 filename; /* co_filename: module bodies all have first line 1 */
	__u32 pid;
	__s32 firstlineno;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct py_code_key);
	__type(value, __u8);
} py_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct py_config);
} py_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct py_file_key);
	__type(value, struct py_config);
} py_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* tstate address */
} py_tstates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PY_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} py_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} py_events SEC(".maps");


// Other interpreters' walkers run on the same perf events (an event carries
// one program): a process listed in interp_pids is handed to the program at
// that index of interp_progs (1: the V8 walker, v8.bpf.c).
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} interp_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   // tgid
	__type(value, __u32); // index in interp_progs
} interp_pids SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&py_stats, &key);
	if (v)
		(*v)++;
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr) != 0)
		return 0;
	return v;
}

static __always_inline __u64 win_u64(struct py_scratch *s, __u32 off)
{
	off &= (PY_WINDOW - 1);
	return *(__u64 *)&s->win[off];
}

static __always_inline __u32 win_u32(struct py_scratch *s, __u32 off)
{
	off &= (PY_WINDOW - 1);
	return *(__u32 *)&s->win[off];
}

static __always_inline __u8 win_u8(struct py_scratch *s, __u32 off)
{
	off &= (PY_WINDOW - 1);
	return s->win[off];
}

struct find_ctx {
	struct py_config *cfg;
	__u64 fsbase;
	__u64 interp;
	__u64 ts;
	__u64 found;
};

/* find_step looks at one thread state of the interpreters' lists. */
static long find_step(__u64 i, void *arg)
{
	struct find_ctx *c = arg;
	struct py_config *cfg = c->cfg;
	if (!c->ts) {
		if (!c->interp)
			return 1;
		c->interp = read_ptr(c->interp + cfg->interp_next);
		if (!c->interp)
			return 1;
		c->ts = read_ptr(c->interp + cfg->interp_threads_head);
		return 0;
	}
	if (read_ptr(c->ts + cfg->tstate_thread_id) == c->fsbase) {
		c->found = c->ts;
		return 1;
	}
	c->ts = read_ptr(c->ts + cfg->tstate_next);
	return 0;
}

/* find_tstate returns the PyThreadState of the current thread, or 0. */
static __always_inline __u64 find_tstate(struct py_config *cfg, __u32 tid, __u64 fsbase)
{
	__u64 *cached = bpf_map_lookup_elem(&py_tstates, &tid);
	if (cached && *cached) {
		if (read_ptr(*cached + cfg->tstate_thread_id) == fsbase) {
			bump(PY_STAT_CACHE_HIT);
			return *cached;
		}
	}
	struct find_ctx c = {.cfg = cfg, .fsbase = fsbase};
	c.interp = read_ptr(cfg->runtime + cfg->runtime_interp_head);
	if (!c.interp)
		return 0;
	c.ts = read_ptr(c.interp + cfg->interp_threads_head);
	bpf_loop(PY_MAX_INTERPS * PY_MAX_THREADS, find_step, &c, 0);
	if (c.found)
		bpf_map_update_elem(&py_tstates, &tid, &c.found, BPF_ANY);
	return c.found;
}

struct walk_ctx {
	struct py_config *cfg;
	struct py_scratch *s;
	__u64 frame;
};

/*
 * read_ascii copies a compact ASCII str object's data into buf (at most
 * max - 1 bytes, max a power of two) and returns its length; 0 if it is not
 * one.
 */
static __always_inline __u16 read_ascii(struct py_config *cfg, __u64 str, char *buf, __u32 max)
{
	if (!str)
		return 0;
	__u32 state = 0;
	__u64 len = 0;
	if (bpf_probe_read_user(&state, sizeof(state), (void *)(str + cfg->unicode_state)) != 0 ||
	    bpf_probe_read_user(&len, sizeof(len), (void *)(str + cfg->unicode_length)) != 0)
		return 0;
	if (!(state & (1 << 5)) || !(state & (1 << 6)))
		return 0; /* not compact ASCII */
	if (len > max - 1)
		len = max - 1;
	len &= max - 1;
	if (!len || bpf_probe_read_user(buf, len, (void *)(str + cfg->unicode_ascii_size)) != 0)
		return 0;
	return (__u16)len;
}

/*
 * read_lines copies the start of a code object's line table (a bytes
 * object) into buf (at most max - 1 bytes, max a power of two) and returns
 * how many bytes it copied.
 */
static __always_inline __u16 read_lines(struct py_config *cfg, __u64 bytes, __u8 *buf, __u32 max)
{
	if (!bytes || !cfg->bytes_data)
		return 0;
	__u64 len = 0;
	if (bpf_probe_read_user(&len, sizeof(len), (void *)(bytes + cfg->bytes_size)) != 0)
		return 0;
	if (len > max - 1)
		len = max - 1;
	len &= max - 1;
	if (!len || bpf_probe_read_user(buf, len, (void *)(bytes + cfg->bytes_data)) != 0)
		return 0;
	return (__u16)len;
}

/*
 * report_code writes a py_code_event for a code object not seen before,
 * cut after the part of its line table that was copied.
 */
static __always_inline void report_code(struct py_config *cfg, struct py_scratch *s, __u32 pid,
					__u64 code, __s32 first)
{
	struct py_code_event *e = &s->code;
	e->kind = PY_CODE_RECORD;
	e->pid = pid;
	e->code = code;
	e->firstlineno = first;
	e->name_len = read_ascii(cfg, read_ptr(code + cfg->code_name), e->name, PY_CODE_NAME_MAX);
	e->file_len = read_ascii(cfg, read_ptr(code + cfg->code_filename), e->file, PY_CODE_FILE_MAX);
	e->lines_len = read_lines(cfg, read_ptr(code + cfg->code_linetable), e->lines, PY_CODE_LINES_MAX);
	__u64 size = __builtin_offsetof(struct py_code_event, lines) +
		     (__u64)(e->lines_len & (PY_CODE_LINES_MAX - 1));
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&py_events, e, size, 0) != 0)
		bump(PY_STAT_RING_FULL);
}

/* walk_step records one frame and moves to its caller. */
static long walk_step(__u64 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct py_config *cfg = w->cfg;
	struct py_scratch *s = w->s;
	struct py_event *ev = &s->ev;
	__u64 frame = w->frame;
	__u32 layout = cfg->layout;
	/*
	 * The count lives in the map value, not on the stack: the verifier
	 * then knows only its bounds, not its value, and checks this callback
	 * in a few passes instead of one per possible count.
	 */
	__u32 n = ev->n;

	if (!frame)
		return 1;
	if (n >= PY_MAX_FRAMES) {
		ev->truncated = 1;
		bump(PY_STAT_TRUNCATED);
		return 1;
	}
	__u32 wsz = cfg->frame_window;
	if (wsz < 8 || wsz > PY_WINDOW)
		wsz = PY_WINDOW;
	if (bpf_probe_read_user(s->win, wsz, (void *)frame) != 0) {
		ev->err = PY_ERR_READ;
		bump(PY_STAT_READ_ERR);
		return 1;
	}
	__u64 code = win_u64(s, cfg->frame_code);
	w->frame = win_u64(s, cfg->frame_previous);
	__u32 flags = 0;
	__u32 off = PY_OFFSET_NONE;
	if (layout == PY_LAYOUT_310 || layout == PY_LAYOUT_38) {
		__s32 lasti = (__s32)win_u32(s, cfg->frame_instr);
		if (lasti >= 0)
			off = layout == PY_LAYOUT_310 ? (__u32)lasti * 2 : (__u32)lasti;
		flags = PY_FRAME_ENTRY;
	} else {
		__u8 owner = win_u8(s, cfg->frame_owner);
		if (layout != PY_LAYOUT_311 && owner == FRAME_OWNED_BY_CSTACK) {
			/*
			 * A shim frame pushed when C code entered the eval loop:
			 * the frame below it was that loop's first.
			 */
			if (n > 0)
				ev->frames[(n - 1) & (PY_MAX_FRAMES - 1)].offset |= PY_FRAME_ENTRY;
			return 0;
		}
		if (layout == PY_LAYOUT_311 && owner)
			flags = PY_FRAME_ENTRY;
		__u64 instr = win_u64(s, cfg->frame_instr);
		__u64 base = code + cfg->code_adaptive;
		if (instr >= base && instr - base < PY_OFFSET_NONE)
			off = (__u32)(instr - base);
	}
	__s32 first = 0;
	if (bpf_probe_read_user(&first, sizeof(first), (void *)(code + cfg->code_firstlineno)) !=
	    0) {
		ev->err = PY_ERR_READ;
		bump(PY_STAT_READ_ERR);
		return 1;
	}
	struct py_code_key key = {.code = code,
				  .filename = read_ptr(code + cfg->code_filename),
				  .pid = ev->pid,
				  .firstlineno = first};
	if (!bpf_map_lookup_elem(&py_seen, &key)) {
		__u8 one = 1;
		bpf_map_update_elem(&py_seen, &key, &one, BPF_ANY);
		report_code(cfg, s, ev->pid, code, first);
		s->fresh = 1;
		bump(PY_STAT_NEW_CODE);
	}
	struct py_frame *f = &ev->frames[n & (PY_MAX_FRAMES - 1)];
	f->code = code;
	f->offset = off | flags;
	f->firstlineno = first;
	ev->n = n + 1;
	return 0;
}

/*
 * by_mapping describes a process not yet in py_procs whose sample hit the
 * code of an interpreter file userspace put in py_files (a libpython, or a
 * python executable that holds the interpreter): so a process is read from
 * its first sample in the interpreter on, before userspace has seen its
 * mappings (which it reads every few tens of milliseconds), whatever
 * started it.
 */
struct vma_ctx {
	struct py_config cfg;
	int found;
};

#define PY_VM_EXEC 0x4

static long match_vma(struct task_struct *task, struct vm_area_struct *vma, void *arg)
{
	struct vma_ctx *c = arg;
	if (!(vma->vm_flags & PY_VM_EXEC) || !vma->vm_file)
		return 0;
	struct py_file_key key = {};
	key.ino = BPF_CORE_READ(vma, vm_file, f_inode, i_ino);
	key.dev = BPF_CORE_READ(vma, vm_file, f_inode, i_sb, s_dev);
	struct py_config *file = bpf_map_lookup_elem(&py_files, &key);
	if (!file)
		return 0;
	c->cfg = *file;
	c->cfg.runtime += vma->vm_start - (vma->vm_pgoff << 12);
	c->found = 1;
	return 0;
}

static __always_inline struct py_config *by_mapping(struct bpf_perf_event_data *ctx, __u32 pid)
{
	__u64 ip = ctx->regs.ip;
	if (!ip || ip >= 0x800000000000ULL)
		return 0; /* a sample in the kernel */
	struct vma_ctx c = {};
	struct task_struct *task = bpf_get_current_task_btf();
	if (bpf_find_vma(task, ip, match_vma, &c, 0) != 0 || !c.found)
		return 0;
	if (bpf_map_update_elem(&py_procs, &pid, &c.cfg, BPF_NOEXIST) == 0)
		bump(PY_STAT_BY_EXE);
	return bpf_map_lookup_elem(&py_procs, &pid);
}

/*
 * An exec replaces the image: forget the process's interpreter. A raw
 * tracepoint is attached by name, without tracefs (often not mounted in a
 * container); the program needs only the current task.
 */
SEC("raw_tracepoint/sched_process_exec")
int on_exec(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_delete_elem(&py_procs, &pid);
	return 0;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;
	__u32 *walker = bpf_map_lookup_elem(&interp_pids, &pid);
	if (walker)
		bpf_tail_call(ctx, &interp_progs, *walker);
	struct py_config *cfg = bpf_map_lookup_elem(&py_procs, &pid);
	if (!cfg)
		cfg = by_mapping(ctx, pid);
	if (!cfg)
		return 1;
	bump(PY_STAT_SAMPLES);

	__u32 zero = 0;
	struct py_scratch *s = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!s)
		return 1;
	struct py_event *ev = &s->ev;
	ev->pid = pid;
	ev->tid = tid;
	ev->ktime = bpf_ktime_get_ns();
	ev->cpu = bpf_get_smp_processor_id();
	ev->n = 0;
	ev->truncated = 0;
	ev->err = PY_ERR_NONE;
	ev->file = cfg->file;
	s->fresh = 0;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase);
	__u64 ts = find_tstate(cfg, tid, fsbase);
	ev->tstate = ts;
	if (!ts) {
		bump(PY_STAT_NO_TSTATE);
		ev->err = PY_ERR_NO_TSTATE;
	} else {
		__u64 frame = read_ptr(ts + cfg->tstate_frame);
		if (frame && (cfg->layout == PY_LAYOUT_311 || cfg->layout == PY_LAYOUT_312))
			frame = read_ptr(frame + cfg->cframe_current_frame);
		struct walk_ctx w = {.cfg = cfg, .s = s, .frame = frame};
		/* Shim frames are skipped without counting: allow for them. */
		bpf_loop(PY_MAX_FRAMES * 2 + 1, walk_step, &w, 0);
	}

	__u64 size =
		sizeof(*ev) - sizeof(ev->frames) + (__u64)(ev->n & 0xff) * sizeof(struct py_frame);
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	/*
	 * Waking the reader for every stack costs more than reading the stack;
	 * it polls the ring, and is woken only when the ring fills up or the
	 * stack holds a code object not seen before (see py_seen).
	 */
	__u64 flags = s->fresh || bpf_ringbuf_query(&py_events, BPF_RB_AVAIL_DATA) > PY_WAKEUP_BYTES
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&py_events, ev, size, flags) != 0)
		bump(PY_STAT_RING_FULL);
	else
		bump(PY_STAT_EMITTED);
	return 1;
}

/*
 * bpf2go -type finds a type in the BTF, which holds the types of variables:
 * this pointer, never set, carries the enums of tracer.h that no map names.
 */
const struct {
	enum py_layout layout;
	enum py_err err;
	enum py_stat stat;
	enum py_limits limits;
	enum py_frame_bits frame_bits;
	enum py_code_limits code_limits;
	struct py_code_event code_event;
} *keep_tracer_types __attribute__((unused));
