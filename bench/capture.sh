#!/usr/bin/env bash
# Cost of the transition capture as the traced program sees it: each example
# container, 300k steps by default, untraced (the probe writes its framed
# batches to /dev/null: the same program, the same writes) against
# `tracer run --trace FILE` (samplers at the default -F, the uprobe copying
# every batch, the live check, the trace file and the profile). Rounds are
# interleaved and the best (least) time of each variant is kept, since other
# work on the machine only ever adds time. Wall time is the figure; CPU time
# (user + system, tracer included) is shown beside it. A third variant,
# tracer run with the uprobe feature switched off (sampling only), separates
# the capture's own cost from the fixed cost of a tracer session (loading,
# symbolizing, writing the profile). The capture counters of the last
# traced run are printed too. Target: traced <= 1.15 x untraced.
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

# best VAR WALL CPU: keeps the least wall and CPU time in best_wall[VAR], best_cpu[VAR].
declare -A best_wall best_cpu
best() {
	if [ -z "${best_wall[$1]:-}" ] || [ "$2" -lt "${best_wall[$1]}" ]; then best_wall[$1]=$2; fi
	if [ -z "${best_cpu[$1]:-}" ] || [ "$3" -lt "${best_cpu[$1]}" ]; then best_cpu[$1]=$3; fi
}
ratio() { awk -v t="$1" -v u="$2" 'BEGIN { printf "%.3f", t / u }'; }

for c in "$py examples/python_container.py" "node examples/nodejs_container.js"; do
	name=${c%% *}
	best_wall=() best_cpu=()
	for ((r = 1; r <= rounds; r++)); do
		# shellcheck disable=SC2086
		read -r w cpu < <(measure $c --steps "$steps" --seed 5)
		best untraced "$w" "$cpu"
		# Sampling only: the same tracer run with the uprobe feature switched off.
		# shellcheck disable=SC2086
		read -r w cpu < <(TRACER_DISABLE_FEATURES=uprobe measure "$tracer" run -o "$out/p.pb.gz" -- $c --steps "$steps" --seed 5)
		best sampling "$w" "$cpu"
		# shellcheck disable=SC2086
		read -r w cpu < <(measure "$tracer" run --trace "$out/t.jsonl" -o "$out/p.pb.gz" -- $c --steps "$steps" --seed 5)
		best traced "$w" "$cpu"
	done
	lines=$(grep -c '"kind":"step"' "$out/t.jsonl")
	u=${best_wall[untraced]} s=${best_wall[sampling]} t=${best_wall[traced]}
	echo "$name container, $steps steps, best of $rounds, wall (CPU): untraced $u ms (${best_cpu[untraced]}), tracer run without capture $s ms (${best_cpu[sampling]}), tracer run with capture $t ms (${best_cpu[traced]})"
	echo "  tracer run / untraced: $(ratio "$t" "$u")x wall, $(ratio "${best_cpu[traced]}" "${best_cpu[untraced]}")x CPU;" \
		"the capture alone (with / without): $(ratio "$t" "$s")x wall, $(ratio "${best_cpu[traced]}" "${best_cpu[sampling]}")x CPU; trace: $lines steps"
	grep -E '^(capture:|tracer:)' "$out/stderr" | sed 's/^/  last run: /' || true
done
