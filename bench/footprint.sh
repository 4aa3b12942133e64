#!/usr/bin/env bash
# tracer's own footprint beside perf record's (docs/performance.md).
#
#   run        a CPU-bound Python loop of about 3.5 s under
#              `tracer run -F 999` and under `perf record -q -F 999 -g`
#   true       `tracer run -- true`: the fixed cost of a session
#   attach     `tracer attach -F 999 --duration 10s` on the same loop,
#              started a little longer
#   check      `tracer check` on a 1 M-step trace of the Python container,
#              compact (as the probe bindings write it) and in the spelling
#              of Python's json.dumps (", " and ": ", non-ASCII escaped)
#
# Each figure is the profiler's OWN process only, children excluded: peak RSS
# is VmHWM from /proc/PID/status (polled every 10 ms while it runs), CPU is
# utime+stime from /proc/PID/stat read once it has exited but before it is
# reaped (so its children's time, which the kernel adds at reaping, is not
# in it). Medians of ROUNDS runs, interleaved.
# Usage: bench/footprint.sh   (as root, after make build)
# Environment: ROUNDS (3), LOOP (38000000 iterations, about 3.5 s here),
# CHECK_STEPS (1000000), BENCH_CACHE (/tmp/tracer-bench), TRACER (bin/tracer),
# PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
loop=${LOOP:-38000000}
steps=${CHECK_STEPS:-1000000}
cache=${BENCH_CACHE:-/tmp/tracer-bench}
tracer=${TRACER:-bin/tracer}
py=${PYTHON:-python3}

die() {
	echo "bench/footprint.sh: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "needs root for perf_event and BPF: run it with sudo"
[ -x "$tracer" ] || die "$tracer is missing: run make build"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
log() { echo "footprint: $*" >&2; }

# own.py CMD...: runs CMD, prints "<peak RSS KiB> <own CPU s>" of its process.
cat >"$work/own.py" <<'EOF'
import os, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
hwm = 0
def poll():
    global hwm
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
    except OSError:
        pass
while True:
    poll()
    # WNOWAIT: wait for the exit but leave the zombie, whose stat still
    # holds the process's own utime and stime.
    r = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if r is not None:
        break
    time.sleep(0.01)
with open(f"/proc/{p.pid}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
tick = os.sysconf("SC_CLK_TCK")
cpu = (int(fields[11]) + int(fields[12])) / tick
p.wait()
print(hwm, f"{cpu:.3f}", p.returncode)
EOF
own() { "$py" "$work/own.py" "$@"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

prog=$'x = 0\nfor i in range('"$loop"$'):\n    x += i * i % 7\n'
long=$'x = 0\nfor i in range('"$((loop * 5))"$'):\n    x += i * i % 7\n'

# measure NAME CMD...: one round of NAME into $work/NAME.rss and .cpu.
measure() {
	local name=$1
	shift
	read -r kib cpu rc < <(own "$@")
	[ "$rc" = 0 ] || log "$name exited with $rc"
	echo "$kib" >>"$work/$name.rss"
	echo "$cpu" >>"$work/$name.cpu"
}

attach_round() {
	"$py" -c "$long" &
	local pid=$!
	sleep 0.3
	measure attach "$tracer" attach -F 999 --duration 10s -p "$pid" -o "$work/attach.pb.gz"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

for ((r = 1; r <= rounds; r++)); do
	log "round $r of $rounds"
	measure tracer_run "$tracer" run -F 999 -o "$work/run.pb.gz" -- "$py" -c "$prog"
	if command -v perf >/dev/null 2>&1; then
		measure perf_record perf record -q -F 999 -g -o "$work/perf.data" -- "$py" -c "$prog"
	fi
	measure tracer_true "$tracer" run -o "$work/true.pb.gz" -- true
	attach_round
done

# --- check ---------------------------------------------------------------
trace="$cache/check-$steps.jsonl"
spaced="$cache/check-$steps-dumps.jsonl"
if [ ! -s "$trace" ]; then
	log "generating a $steps-step trace of the Python container into $trace"
	TRACER_PROBE_FILE="$trace.tmp" "$py" examples/python_container.py --steps "$steps" --seed 1 >/dev/null
	mv "$trace.tmp" "$trace"
fi
if [ ! -s "$spaced" ]; then
	log "rewriting it as json.dumps writes it into $spaced"
	"$py" -c 'import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as o:
    for line in f:
        o.write(json.dumps(json.loads(line)) + "\n")' "$trace" "$spaced.tmp"
	mv "$spaced.tmp" "$spaced"
fi
for ((r = 1; r <= rounds; r++)); do
	for rel in exact bisim; do
		measure "check_compact_$rel" "$tracer" check --relation "$rel" "$trace"
		measure "check_dumps_$rel" "$tracer" check --relation "$rel" "$spaced"
	done
done

# --- the table -----------------------------------------------------------
mib() { median <"$work/$1.rss" | awk '{ if ($1 == "-") print "-"; else printf "%.1f", $1 / 1024 }'; }
cpu() { median <"$work/$1.cpu"; }
per_m() { awk -v c="$(cpu "$1")" -v n="$steps" 'BEGIN { printf "%.2f", c * 1e6 / n }'; }
echo "tracer footprint, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git describe --always --dirty 2>/dev/null || echo unknown), binary $tracer"
echo "machine: $(nproc) CPUs, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); medians of $rounds"
echo "own process only (children excluded): peak RSS = VmHWM, CPU = utime+stime"
echo
printf '%-44s %12s %12s\n' measure "peak RSS MiB" "own CPU s"
printf '%-44s %12s %12s\n' "tracer run -F 999, python loop" "$(mib tracer_run)" "$(cpu tracer_run)"
if [ -s "$work/perf_record.cpu" ]; then
	printf '%-44s %12s %12s\n' "perf record -q -F 999 -g, same loop" "$(mib perf_record)" "$(cpu perf_record)"
fi
printf '%-44s %12s %12s\n' "tracer run -- true" "$(mib tracer_true)" "$(cpu tracer_true)"
printf '%-44s %12s %12s\n' "tracer attach -F 999 for 10 s, python loop" "$(mib attach)" "$(cpu attach)"
for rel in exact bisim; do
	printf '%-44s %12s %12s\n' "tracer check --relation $rel, compact" "$(mib "check_compact_$rel")" "$(per_m "check_compact_$rel") /M steps"
	printf '%-44s %12s %12s\n' "tracer check --relation $rel, json.dumps" "$(mib "check_dumps_$rel")" "$(per_m "check_dumps_$rel") /M steps"
done
