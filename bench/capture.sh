#!/usr/bin/env bash
# Cost of the transition capture as the traced program sees it: each example
# container, 300k steps by default, untraced (the probe writes its framed
# batches to /dev/null: the same program, the same writes) against
# `tracer run --trace FILE` (samplers at the default -F, the uprobe copying
# every batch, the live check, the trace file and the profile). Rounds are
# interleaved and the best (least) time of each variant is kept, since other
# work on the machine only ever adds time. Wall time is the figure; CPU time
# (user + system, tracer included) is shown beside it. The capture counters
# of the last traced run are printed too. Target: traced <= 1.15 x untraced.
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

# measure CMD...: prints "WALL_MS CPU_MS" of one run; fails on a non-zero exit.
measure() {
	local t
	t=$(
		TIMEFORMAT='%3R %3U %3S'
		{ time "$@" >/dev/null 2>"$out/stderr.new"; } 2>&1
	) || { cat "$out/stderr.new" >&2; return 1; }
	mv "$out/stderr.new" "$out/stderr"
	awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}

for c in "$py examples/python_container.py" "node examples/nodejs_container.js"; do
	name=${c%% *}
	bu=0 bt=0 cu=0 ct=0
	for ((r = 1; r <= rounds; r++)); do
		# shellcheck disable=SC2086
		read -r w cpu < <(measure $c --steps "$steps" --seed 5)
		if [ "$bu" -eq 0 ] || [ "$w" -lt "$bu" ]; then bu=$w; fi
		if [ "$cu" -eq 0 ] || [ "$cpu" -lt "$cu" ]; then cu=$cpu; fi
		# shellcheck disable=SC2086
		read -r w cpu < <(measure "$tracer" run --trace "$out/t.jsonl" -o "$out/p.pb.gz" -- $c --steps "$steps" --seed 5)
		if [ "$bt" -eq 0 ] || [ "$w" -lt "$bt" ]; then bt=$w; fi
		if [ "$ct" -eq 0 ] || [ "$cpu" -lt "$ct" ]; then ct=$cpu; fi
	done
	lines=$(grep -c '"kind":"step"' "$out/t.jsonl")
	echo "$name container, $steps steps, best of $rounds: wall untraced ${bu} ms, tracer run ${bt} ms: $(awk -v t="$bt" -v u="$bu" 'BEGIN { printf "%.3f", t / u }')x;" \
		"CPU ${cu} ms, ${ct} ms: $(awk -v t="$ct" -v u="$cu" 'BEGIN { printf "%.3f", t / u }')x; trace: $lines steps"
	grep -E '^(capture:|tracer:)' "$out/stderr" | sed 's/^/  last run: /' || true
done
