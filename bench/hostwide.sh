#!/usr/bin/env bash
# Cost of the host-wide mode (not part of CI): tracer attach --all for
# SECONDS (30) with nothing to follow (a cgroup filter no process is in),
# then for SECONDS following PROCS (20) small Python loops started in a
# cgroup of their own (each computes for a few milliseconds every 50 ms and
# reports nothing), plus one loop started while tracing goes on.
#
# Prints, for each: tracer's CPU time (user+system, and as a share of one
# CPU), its resident set size at the end (and of it, the anonymous memory:
# the rest is the files it maps, its own binary and the BPF rings) and at its
# peak, and the samples it kept.
# Usage: bench/hostwide.sh   (as root, after make build)
# Environment: SECONDS_EACH (30), PROCS (20), FREQ (99), TRACER (bin/tracer),
# PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_EACH:-30}
procs=${PROCS:-20}
freq=${FREQ:-99}
tracer=${TRACER:-bin/tracer}
py=${PYTHON:-python3}

die() {
	echo "bench/hostwide.sh: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "needs root for perf_event and BPF"
[ -x "$tracer" ] || die "$tracer is missing: run make build"
cgroot=$(awk '$9 == "cgroup2" && $4 == "/" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cgroot" ] || die "no cgroup v2 hierarchy is mounted"
name=tracer-bench-$$
cg=$cgroot/$name
mkdir "$cg"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rmdir "$cg" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/loop.py" <<'PY'
import time
def small_loop():
    return sum(i * i for i in range(20000))
while True:
    small_loop()
    time.sleep(0.05)
PY

# loop: one Python loop in the bench's cgroup.
loop() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$py" "$work/loop.py" &
	pids+=($!)
}

# measure LABEL CGROUP: tracer attach --all for $secs; prints its costs.
measure() {
	local label=$1 filter=$2 tp ticks hz
	"$tracer" attach --all --cgroup "$filter" -F "$freq" --duration "${secs}s" -o "$work/$label.pb.gz" 2>"$work/$label.err" &
	tp=$!
	sleep 2 # not a measurement: lets the tracer start before the extra loop
	[ "$label" = idle ] || loop
	sleep $((secs - 3))
	ticks=$(awk '{ print $14 + $15 }' "/proc/$tp/stat")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$tp/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$tp/status")
	anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$tp/status")
	wait "$tp" || true
	hz=$(getconf CLK_TCK)
	samples=$(grep -o '^[0-9]* samples' "$work/$label.err" || echo "0 samples")
	awk -v l="$label" -v t="$ticks" -v hz="$hz" -v s="$secs" -v r="$rss" -v h="$hwm" -v n="$samples" -v a="$anon" \
		'BEGIN { printf "%-10s cpu %.2f s (%.2f%% of one CPU over %d s), rss %.1f MiB (anonymous %.1f MiB), peak %.1f MiB, %s\n", l, t/hz, 100*t/hz/(s-1), s-1, r/1024, a/1024, h/1024, n }'
}

measure idle "/$name-none"
for _ in $(seq "$procs"); do loop; done
measure "${procs}procs" "/$name"
