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
				__u32 fd, const __u32 cap)
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
	h->fd = fd;
	bpf_ringbuf_submit(h, 0);
	bump(CTR_BATCHES);
	return 0;
}

/*
 * Which processes' writes are looked at: the thread group ids in tracked
 * (below), the traced command and every process it started, or a process
 * tracer attached to. The uprobes themselves are placed on the interpreter
 * file for every process that maps it, so that a child a tracked process
 * forks is covered from its first write: the fork tracepoint adds it to
 * tracked before it runs.
 */
#define SIGSTOP_NR 19

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

/*
 * The binding's sinks: a batch counts only when it is written to the null
 * device (a character device 1:3, whatever its path or mount namespace) or
 * to one of the regular files in this map (TRACER_PROBE_FILE with
 * TRACER_PROBE_FRAMED=1), looked up by the file the descriptor refers to.
 * A framed write to a pipe, a socket, a terminal or any other file is not a
 * batch of the binding.
 */
struct sink_key {
	__u32 dev; /* super_block s_dev, the kernel's encoding */
	__u32 pad;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct sink_key);
	__type(value, __u8);
} sinks SEC(".maps");

#define S_IFMT_ 00170000
#define S_IFCHR_ 0020000
#define S_IFREG_ 0100000
#define NULL_RDEV ((1U << 20) | 3U) /* MKDEV(1, 3) */

/* is_sink reports whether descriptor fd of the current process is a sink. */
static __always_inline int is_sink(int fd)
{
	if (fd < 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return 0;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = 0;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return 0;
	__u16 mode = BPF_CORE_READ(inode, i_mode);
	if ((mode & S_IFMT_) == S_IFCHR_)
		return BPF_CORE_READ(inode, i_rdev) == NULL_RDEV;
	if ((mode & S_IFMT_) != S_IFREG_)
		return 0;
	struct sink_key k = {};
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	return bpf_map_lookup_elem(&sinks, &k) != 0;
}

/* capture looks at one write of count bytes at buf to fd and copies it if
 * it is a batch of a tracked process to a sink. */
static __always_inline int capture(int fd, const void *buf, __u64 count)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!bpf_map_lookup_elem(&tracked, &tgid))
		return 0;
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
	if (!is_sink(fd)) {
		bump(CTR_NOT_SINK);
		return 0;
	}

	__u64 n = (__u64)head[8] | (__u64)head[9] << 8 | (__u64)head[10] << 16 |
		  (__u64)head[11] << 24;
	if (n + FRAME_HDR != count) {
		bump(CTR_MALFORMED);
		return 0;
	}
	if (count > FRAME_MAX) {
		bump(CTR_TRUNCATED);
		return emit(buf, FRAME_MAX, count, BATCH_TRUNCATED, fd, FRAME_MAX);
	}
	if (count <= 4096)
		return emit(buf, count, count, 0, fd, 4096);
	if (count <= 16384)
		return emit(buf, count, count, 0, fd, 16384);
	return emit(buf, count, count, 0, fd, FRAME_MAX);
}

/* CPython: Py_ssize_t _Py_write(int fd, const void *buf, size_t count) */
SEC("uprobe")
int BPF_KPROBE(py_write, int fd, const void *buf, __u64 count)
{
	return capture(fd, buf, count);
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
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (nbufs == 0 || !bufs || !bpf_map_lookup_elem(&tracked, &tgid))
		return 0;
	if (bpf_probe_read_user(&b, sizeof(b), bufs)) {
		bump(CTR_HITS);
		bump(CTR_READ_FAIL);
		return 0;
	}
	if (nbufs == 1)
		return capture(file, b.base, b.len);

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
 * At each exec of a tracked process the program stops it (SIGSTOP, when
 * TRACK_STOP and stopping is on) and reports its pid in the execs ring;
 * tracer reads the new executable (and the libpython or libnode it needs),
 * places the uprobe, and sends SIGCONT. The uprobe is thus in place before
 * the new image runs its first instruction, however short the program and
 * however busy the machine.
 *
 * A stopped process is also put in held until tracer continues it. A keeper
 * process (loader/keeper.go) holds this map and waits for tracer's end,
 * whatever ends it: then it continues every process still held. Stopping is
 * on (ctl[0] != 0) only while the keeper lives.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ctl SEC(".maps");

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
	__u32 zero = 0;
	__u32 *on = bpf_map_lookup_elem(&ctl, &zero);
	if (!on || !*on)
		e->flags &= ~TRACK_STOP; /* no keeper: never stop */
	if (e->flags & TRACK_STOP) {
		__u8 one = 1;
		/* held first: a stop the keeper cannot see must not happen */
		if (bpf_map_update_elem(&held, &tgid, &one, BPF_ANY) || bpf_send_signal(SIGSTOP_NR)) {
			bpf_map_delete_elem(&held, &tgid);
			e->flags &= ~TRACK_STOP; /* not stopped: nothing to continue */
		}
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(track_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 pid = BPF_CORE_READ(p, pid);
	if (pid == tgid) {
		bpf_map_delete_elem(&tracked, &tgid);
		bpf_map_delete_elem(&held, &tgid);
	}
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
