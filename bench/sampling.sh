#!/usr/bin/env bash
# Sampling overhead, side by side on one workload (a CPU-bound Python loop of
# about 3 s): untraced, `perf record -F 999 -g`, `tracer run -F 99` and
# `tracer run -F 999`. Each
# variant runs ROUNDS times, interleaved, and the best (least) wall time is
# kept, since other work on the machine only ever adds time. The CPU column
# is user+system time of the whole command (the profiler included).
# Targets: tracer <= perf record, tracer <= 1.15 x untraced.
# Usage: bench/sampling.sh [ROUNDS] [LOOP_ITERATIONS]   (needs root; make build first)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
n=${2:-30000000}
tracer=${TRACER:-bin/tracer}
py=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

[ -x "$tracer" ] || { echo "sampling.sh: $tracer is missing: run make build" >&2; exit 2; }
prog=$'x = 0\nfor i in range('"$n"$'):\n    x += i * i % 7\n'

untraced() { "$py" -c "$prog"; }
perf_record() { perf record -q -F 999 -g -o "$out/perf.data" -- "$py" -c "$prog" 2>/dev/null; }
tracer_run_99() { "$tracer" run -F 99 -o "$out/tracer99.pb.gz" -- "$py" -c "$prog" 2>/dev/null; }
tracer_run() { "$tracer" run -F 999 -o "$out/tracer.pb.gz" -- "$py" -c "$prog" 2>/dev/null; }

variants=(untraced)
if command -v perf >/dev/null 2>&1; then variants+=(perf_record); else echo "perf not installed: skipping perf record" >&2; fi
variants+=(tracer_run_99 tracer_run)

declare -A wall cpu
for ((r = 1; r <= rounds; r++)); do
	for v in "${variants[@]}"; do
		t=$({ TIMEFORMAT='%3R %3U %3S'; time $v >/dev/null; } 2>&1 | tail -1)
		read -r w u s <<<"$t"
		c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
		if [ -z "${wall[$v]:-}" ] || awk -v a="$w" -v b="${wall[$v]}" 'BEGIN { exit !(a < b) }'; then
			wall[$v]=$w
			cpu[$v]=$c
		fi
	done
done

echo "workload: $py loop of $n iterations; best of $rounds interleaved rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %8s %8s %10s\n' variant "wall s" "cpu s" "x untraced"
for v in "${variants[@]}"; do
	printf '%-22s %8s %8s %10s\n' "$v" "${wall[$v]}" "${cpu[$v]}" "$(awk -v a="${wall[$v]}" -v b="${wall[untraced]}" 'BEGIN { printf "%.3f", a / b }')"
done
if [ -n "${wall[perf_record]:-}" ]; then
	echo "tracer / perf record: $(awk -v a="${wall[tracer_run]}" -v b="${wall[perf_record]}" 'BEGIN { printf "%.3f", a / b }')"
fi
