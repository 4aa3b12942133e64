#!/usr/bin/env bash
# Cost of the transition capture as the traced program sees it: each example
# container, 300k steps by default, untraced (the probe writes its framed
# batches to /dev/null: the same program, the same writes) against
# `tracer run --trace FILE` (samplers at the default -F, the uprobe copying
# every batch, the live check and the trace file). Rounds are interleaved and
# the best (least) wall time of each variant is kept, since other work on the
# machine only ever adds time. Also prints the capture's own counters from
# the last traced run. Target: traced <= 1.15 x untraced.
# Usage: bench/capture.sh [STEPS] [ROUNDS]   (needs root; make build first)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300000}
rounds=${2:-3}
tracer=${TRACER:-bin/tracer}
py=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$tracer" ] || { echo "capture.sh: $tracer is missing: run make build" >&2; exit 2; }

# wall_ns CMD...: wall time of one run in nanoseconds; fails on a non-zero exit.
wall_ns() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$out/stderr.$$" || { cat "$out/stderr.$$" >&2; return 1; }
	mv "$out/stderr.$$" "$out/stderr"
	t1=$(date +%s%N)
	echo $((t1 - t0))
}

for c in "$py examples/python_container.py" "node examples/nodejs_container.js"; do
	name=${c%% *}
	best_u=0 best_t=0
	for ((r = 1; r <= rounds; r++)); do
		# shellcheck disable=SC2086
		u=$(wall_ns $c --steps "$steps" --seed 5)
		# shellcheck disable=SC2086
		t=$(wall_ns "$tracer" run --trace "$out/t.jsonl" -o "$out/p.pb.gz" -- $c --steps "$steps" --seed 5)
		if [ "$best_u" -eq 0 ] || [ "$u" -lt "$best_u" ]; then best_u=$u; fi
		if [ "$best_t" -eq 0 ] || [ "$t" -lt "$best_t" ]; then best_t=$t; fi
	done
	lines=$(grep -c '"kind":"step"' "$out/t.jsonl")
	ratio=$(awk -v t="$best_t" -v u="$best_u" 'BEGIN { printf "%.3f", t / u }')
	echo "$name container, $steps steps: untraced $((best_u / 1000000)) ms, tracer run $((best_t / 1000000)) ms: ${ratio}x (best of $rounds; trace: $lines steps)"
	grep -E '^(capture:|tracer:)' "$out/stderr" | sed 's/^/  last run: /' || true
done
