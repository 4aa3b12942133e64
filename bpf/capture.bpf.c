//go:build ignore

/*
 * capture.bpf.c: uprobes on the interpreters' write paths that copy the probe
 * binding's framed batches (docs/probe-framing.md) into a ring buffer.
 *
 * A batch is one write(2) of 16 + N bytes that starts with the magic
 * 0xFE "TRCBAT1" and a little-endian payload length N. Every other write costs
 * the trap plus one 16-byte read and is let through untouched. A batch is copied
 * whole into one ring-buffer record: no scratch buffer, no chunking, so nothing
 * can interleave two batches even when the program is preempted. The record is
 * reserved in one of three size classes so small batches do not hold 64 KiB of
 * ring each.
 *
 * Everything that is not copied as it should be is counted in the per-CPU
 * counters map (enum capture_counter in headers/tracer.h).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "tracer.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define FRAME_HDR 16
#define FRAME_MAX 65536

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} batches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* libuv's uv_buf_t on Linux. */
struct uv_buf {
	const void *base;
	__u64 len;
};

static __always_inline void bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

/*
 * emit copies len (<= cap) bytes of buf into a ring record of cap data bytes.
 * cap is a compile-time constant at every call site, as bpf_ringbuf_reserve
 * requires.
 */
static __always_inline int emit(const void *buf, __u64 len, __u64 count, __u32 flags,
				const __u32 cap)
{
	struct batch_hdr *h = bpf_ringbuf_reserve(&batches, sizeof(*h) + cap, 0);
	if (!h) {
		bump(CTR_RING_FULL);
		return 0;
	}
	if (len > cap)
		len = cap;
	/* keep the bound visible to the verifier */
	asm volatile("" : "+r"(len));
	if (len > cap) {
		bpf_ringbuf_discard(h, 0);
		return 0;
	}
	if (bpf_probe_read_user((void *)(h + 1), len, buf)) {
		bpf_ringbuf_discard(h, 0);
		bump(CTR_READ_FAIL);
		return 0;
	}
	__u64 id = bpf_get_current_pid_tgid();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->ktime = bpf_ktime_get_ns();
	h->count = count > 0xffffffffULL ? 0xffffffffU : (__u32)count;
	h->copied = len;
	h->flags = flags;
	h->pad = 0;
	bpf_ringbuf_submit(h, 0);
	bump(CTR_BATCHES);
	return 0;
}

/* capture looks at one write of count bytes at buf and copies it if it is a batch. */
static __always_inline int capture(const void *buf, __u64 count)
{
	bump(CTR_HITS);
	if (count < FRAME_HDR || !buf)
		return 0;

	__u8 head[FRAME_HDR];
	if (bpf_probe_read_user(head, sizeof(head), buf)) {
		bump(CTR_READ_FAIL);
		return 0;
	}
	if (head[0] != 0xFE || head[1] != 'T' || head[2] != 'R' || head[3] != 'C' ||
	    head[4] != 'B' || head[5] != 'A' || head[6] != 'T' || head[7] != '1')
		return 0;

	__u64 n = (__u64)head[8] | (__u64)head[9] << 8 | (__u64)head[10] << 16 |
		  (__u64)head[11] << 24;
	if (n + FRAME_HDR != count) {
		bump(CTR_MALFORMED);
		return 0;
	}
	if (count > FRAME_MAX) {
		bump(CTR_TRUNCATED);
		return emit(buf, FRAME_MAX, count, BATCH_TRUNCATED, FRAME_MAX);
	}
	if (count <= 4096)
		return emit(buf, count, count, 0, 4096);
	if (count <= 16384)
		return emit(buf, count, count, 0, 16384);
	return emit(buf, count, count, 0, FRAME_MAX);
}

/* CPython: Py_ssize_t _Py_write(int fd, const void *buf, size_t count) */
SEC("uprobe")
int BPF_KPROBE(py_write, int fd, const void *buf, __u64 count)
{
	return capture(buf, count);
}

/*
 * Node (libuv): int uv_fs_write(uv_loop_t *loop, uv_fs_t *req, uv_file file,
 *                               const uv_buf_t bufs[], unsigned int nbufs,
 *                               int64_t offset, uv_fs_cb cb)
 * fs.writeSync(fd, buffer) passes one buffer. A batch split over several
 * buffers is not a batch by the framing rules; it is counted as malformed when
 * its first buffer carries the magic.
 */
SEC("uprobe")
int BPF_KPROBE(uv_fs_write, void *loop, void *req, int file, const struct uv_buf *bufs,
	       unsigned int nbufs)
{
	struct uv_buf b;
	if (nbufs == 0 || !bufs)
		return 0;
	if (bpf_probe_read_user(&b, sizeof(b), bufs)) {
		bump(CTR_HITS);
		bump(CTR_READ_FAIL);
		return 0;
	}
	if (nbufs == 1)
		return capture(b.base, b.len);

	bump(CTR_HITS);
	__u8 head[8];
	if (b.len >= sizeof(head) && !bpf_probe_read_user(head, sizeof(head), b.base) &&
	    head[0] == 0xFE && head[1] == 'T' && head[7] == '1')
		bump(CTR_MALFORMED);
	return 0;
}

/*
 * Following a process tree through its execs (tracer run).
 *
 * tracked holds the thread group ids of the traced command and its
 * descendants (value: TRACK_* flags). At each exec of a tracked process the
 * program stops it (SIGSTOP, when TRACK_STOP) and reports its pid in the
 * execs ring; tracer reads the new executable (and the libpython or libnode
 * it needs), places the uprobe on the pid, and sends SIGCONT. The uprobe is
 * thus in place before the new image runs its first instruction, however
 * short the program and however busy the machine.
 */
#define SIGSTOP_NR 19

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} execs SEC(".maps");

SEC("tp_btf/sched_process_fork")
int BPF_PROG(track_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid == ptgid)
		return 0; /* a new thread */
	__u8 *v = bpf_map_lookup_elem(&tracked, &ptgid);
	if (!v)
		return 0;
	__u8 flags = *v;
	bpf_map_update_elem(&tracked, &ctgid, &flags, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(track_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u8 *v = bpf_map_lookup_elem(&tracked, &tgid);
	if (!v)
		return 0;
	__u8 flags = *v;
	/* Reserve first: a process is stopped only when tracer will hear of it. */
	struct exec_event *e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e) {
		bump(CTR_EXEC_LOST);
		return 0;
	}
	e->pid = tgid;
	e->flags = flags;
	if ((flags & TRACK_STOP) && bpf_send_signal(SIGSTOP_NR))
		e->flags &= ~TRACK_STOP; /* not stopped: nothing to continue */
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(track_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 pid = BPF_CORE_READ(p, pid);
	if (pid == tgid)
		bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}

/*
 * bpf2go -type finds a type in the BTF, which holds the types of variables:
 * this pointer, never set, carries the records and enums of tracer.h that no
 * map names.
 */
const struct {
	struct batch_hdr batch_hdr;
	struct exec_event exec_event;
	enum capture_counter counter;
	enum batch_flag batch_flag;
	enum track_flag track_flag;
} *keep_tracer_types __attribute__((unused));
