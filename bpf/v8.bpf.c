//go:build ignore

// v8: a perf_event program that reads the JavaScript frames of the sampled
// thread of a node process. The CPython walker's program (pyperf) is the one
// set on the sampler's perf events; for a process listed in its interp_pids
// map it tail-calls this one, which therefore runs in the same overflow
// handler, just before the kernel writes the perf sample.
//
// V8's generated code keeps frame pointers, and so does node's C++. The walk
// follows the chain from the sampled registers: the instruction of frame k is
// the sampled ip (k = 0) or the return address saved in frame k-1, which is
// also what the kernel records as the sample's user callchain, so user space
// can put each JS frame in place of the callchain entry of the same address.
// A frame is a JS frame when its instruction is not in node's own C++ code
// and its context and function slots hold a Context and a JSFunction (both
// checked through their maps' instance types). For each, the walk records
// the JSFunction's SharedFunctionInfo and, for Ignition frames (running in
// the embedded builtins, with a Smi bytecode offset), the BytecodeArray and
// offset (for the leaf frame, the interpreter's offset register when its
// bytecode register still holds the frame's BytecodeArray); user space
// names the rest from the code around the instruction.
// A sample in a builtin that runs without a frame of its own, or in the
// first or last instructions of a function (before its frame is set up,
// after it is torn down), leaves the frame pointer at its caller's frame:
// for that leaf frame the walk also records a return address found at the
// stack pointer.
// The return value 1 keeps the perf sample.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "v8.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define V8_MAX_FP_FRAMES 256 // frames of the chain followed, JS or not
#define V8_WAKEUP_BYTES (1 << 20)

struct v8_scratch {
	__u8 win[V8_WINDOW];
	struct v8_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); // tgid
	__type(value, struct v8_config);
} v8_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct v8_scratch);
} v8_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, V8_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} v8_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} v8_events SEC(".maps");


static __always_inline void v8_count(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&v8_stats, &key);
	if (v)
		(*v)++;
}

static __always_inline __u64 v8_win(struct v8_scratch *s, __u32 off)
{
	off &= (V8_WINDOW - 8) & ~7u;
	return *(__u64 *)&s->win[off];
}

// v8_type returns the instance type of the heap object at tagged pointer
// p, or 0 when p is not a heap object or cannot be read.
static __always_inline __u16 v8_type(struct v8_config *cfg, __u64 p)
{
	__u64 map = 0;
	__u16 t = 0;
	if ((p & 3) != 1)
		return 0;
	if (bpf_probe_read_user(&map, sizeof(map), (void *)(p - 1 + cfg->off_map)) != 0)
		return 0;
	if ((map & 3) != 1)
		return 0;
	if (bpf_probe_read_user(&t, sizeof(t), (void *)(map - 1 + cfg->off_instance_type)) != 0)
		return 0;
	return t;
}

struct v8_walk {
	struct v8_config *cfg;
	struct v8_scratch *s;
	__u64 fp;
	__u64 pc;
	__u64 sp; // the sampled stack pointer
	// The interpreter's registers at the sample (x64): the bytecode
	// offset (r9) and the BytecodeArray (r12), as the bytecode handlers
	// receive them.
	__u64 r9, r12;
};

#define V8_SP_WORDS 4

// v8_stack_ret looks at the words at the stack pointer for what may be the
// return address of code running without a frame of its own (the
// arithmetic builtins Sparkplug code calls, a function's prologue): the
// first that is
// neither in node's code, nor a Smi, nor outside user space. User space
// checks it against the code of the frame's function.
static __always_inline __u64 v8_stack_ret(struct v8_config *cfg, __u64 sp)
{
	__u64 w[V8_SP_WORDS] = {};
	if (!sp || bpf_probe_read_user(w, sizeof(w), (void *)sp) != 0)
		return 0;
	for (int k = 0; k < V8_SP_WORDS; k++) {
		__u64 v = w[k];
		if (v < 0x10000 || v >= 0x800000000000ull || (v & 0xffffffffull) == 0)
			continue;
		if (v >= cfg->text_lo && v < cfg->text_hi)
			continue;
		if (v >= cfg->copy_lo && v < cfg->copy_hi)
			continue;
		return v;
	}
	return 0;
}

// v8_step looks at one frame of the chain and moves to its caller.
static long v8_step(__u64 i, void *arg)
{
	struct v8_walk *w = arg;
	struct v8_config *cfg = w->cfg;
	struct v8_scratch *s = w->s;
	struct v8_event *ev = &s->ev;
	__u64 fp = w->fp, pc = w->pc;
	__u32 n = ev->n;

	if (!fp || (fp & 7))
		return 1;
	if (bpf_probe_read_user(s->win, V8_WINDOW, (void *)(fp - V8_FP_BELOW)) != 0) {
		if (i > 0)
			return 1; // the chain left the stack: its end
		ev->err = V8_ERR_READ;
		v8_count(V8_STAT_READ_ERR);
		return 1;
	}
	__u64 next_fp = v8_win(s, V8_FP_BELOW);
	__u64 ret = v8_win(s, V8_FP_BELOW + 8);
	int in_text = pc >= cfg->text_lo && pc < cfg->text_hi;
	int in_blob = (pc >= cfg->blob_lo && pc < cfg->blob_hi) ||
		      (pc >= cfg->copy_lo && pc < cfg->copy_hi);
	if (!in_text || in_blob) {
		__u64 ctx = v8_win(s, cfg->fp_context);
		__u64 fn = v8_win(s, cfg->fp_function);
		__u16 ft = v8_type(cfg, fn);
		if (ft >= cfg->type_function_lo && ft <= cfg->type_function_hi) {
			__u16 ct = v8_type(cfg, ctx);
			if (ct >= cfg->type_context_lo && ct <= cfg->type_context_hi) {
				if (n >= V8_MAX_FRAMES) {
					ev->truncated = 1;
					v8_count(V8_STAT_TRUNCATED);
					return 1;
				}
				struct v8_frame *f = &ev->frames[n & (V8_MAX_FRAMES - 1)];
				__u64 sfi = 0, name = 0;
				bpf_probe_read_user(&sfi, sizeof(sfi), (void *)(fn - 1 + cfg->off_shared));
				if ((sfi & 3) == 1)
					bpf_probe_read_user(&name, sizeof(name), (void *)(sfi - 1 + cfg->off_sfi_name));
				__u64 off = v8_win(s, cfg->fp_bytecode_offset);
				__u64 bc = v8_win(s, cfg->fp_bytecode_array);
				f->pc = pc;
				f->sfi = sfi;
				f->sfi_name = name;
				f->flags = i == 0 ? V8_FRAME_LEAF : 0;
				f->bytecode = 0;
				f->offset = 0;
				if (in_blob && (off & 1) == 0 && (bc & 3) == 1) {
					f->flags |= V8_FRAME_INTERPRETED;
					f->bytecode = bc;
					f->offset = (__u32)(off >> 32);
					// The frame's slot is written when the handler
					// calls out; in between (a loop of bytecodes that
					// call nothing) the running offset is in r9, kept
					// while r12 still holds this frame's bytecode.
					if (i == 0 && w->r12 == bc && w->r9 > 0 && w->r9 < (1u << 24))
						f->offset = (__u32)w->r9;
				} else if (i == 0) {
					f->bytecode = v8_stack_ret(cfg, w->sp);
				}
				ev->n = n + 1;
			}
		}
	}
	if (next_fp <= fp)
		return 1; // a chain goes up the stack: anything else is its end
	w->fp = next_fp;
	w->pc = ret;
	return 0;
}

SEC("perf_event")
int on_v8_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	struct v8_config *cfg = bpf_map_lookup_elem(&v8_procs, &pid);
	if (!cfg)
		return 1;
	v8_count(V8_STAT_SAMPLES);
	// A sample taken in the kernel: the user registers are those saved
	// when the thread entered it.
	__u64 ip = ctx->regs.ip, bp = ctx->regs.bp, sp = ctx->regs.sp;
	__u64 r9 = ctx->regs.r9, r12 = ctx->regs.r12;
	if (ip >= 0xffff800000000000ull) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct pt_regs *tr = (struct pt_regs *)bpf_task_pt_regs(task);
		if (!tr)
			return 1;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), &tr->ip) != 0 ||
		    bpf_probe_read_kernel(&bp, sizeof(bp), &tr->bp) != 0 ||
		    bpf_probe_read_kernel(&sp, sizeof(sp), &tr->sp) != 0 ||
		    bpf_probe_read_kernel(&r9, sizeof(r9), &tr->r9) != 0 ||
		    bpf_probe_read_kernel(&r12, sizeof(r12), &tr->r12) != 0)
			return 1;
	}
	__u32 zero = 0;
	struct v8_scratch *s = bpf_map_lookup_elem(&v8_scratch, &zero);
	if (!s)
		return 1;
	struct v8_event *ev = &s->ev;
	ev->pid = pid;
	ev->tid = (__u32)pid_tgid;
	ev->ktime = bpf_ktime_get_ns();
	ev->cpu = bpf_get_smp_processor_id();
	ev->n = 0;
	ev->truncated = 0;
	ev->err = V8_ERR_NONE;
	struct v8_walk w = {.cfg = cfg, .s = s, .fp = bp, .pc = ip, .sp = sp, .r9 = r9, .r12 = r12};
	bpf_loop(V8_MAX_FP_FRAMES, v8_step, &w, 0);
	if (ev->n == 0) {
		v8_count(V8_STAT_NO_JS);
		return 1;
	}
	__u64 size = sizeof(*ev) - sizeof(ev->frames) + (__u64)(ev->n & 0xff) * sizeof(struct v8_frame);
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	__u64 flags = bpf_ringbuf_query(&v8_events, BPF_RB_AVAIL_DATA) > V8_WAKEUP_BYTES ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&v8_events, ev, size, flags) != 0)
		v8_count(V8_STAT_RING_FULL);
	else
		v8_count(V8_STAT_EMITTED);
	return 1;
}
