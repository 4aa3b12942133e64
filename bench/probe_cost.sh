#!/usr/bin/env bash
# Per-step cost of the probe bindings, two ways, at 300k steps by default:
#  1. Probe.step() alone (bench/probe_step.py, bench/probe_step.js): a loop of
#     step() calls with a typical state, minus the same loop without the call;
#  2. the example containers with the probe against --no-probe (CPU time, best
#     of 3 runs each): the whole binding cost as a program sees it, t0, init,
#     garbage collection and the idle flusher included.
# The sink is /dev/null (framed batches, as under tracer) unless
# TRACER_PROBE_FILE is set. Usage: bench/probe_cost.sh [STEPS] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300000}
py=${2:-python3}

"$py" bench/probe_step.py "$steps"
node bench/probe_step.js "$steps"

# best_ns CMD...: the least CPU time (user + system) of three runs, in
# nanoseconds; CPU time rather than wall time, so that other work on the
# machine disturbs the figure less.
best_ns() {
	local best=0 d
	for _ in 1 2 3; do
		d=$(
			TIMEFORMAT='%3U %3S'
			{ time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%d", ($1 + $2) * 1e9 }'
		)
		if [ "$best" -eq 0 ] || [ "$d" -lt "$best" ]; then best=$d; fi
	done
	echo "$best"
}

for c in "$py examples/python_container.py" "node examples/nodejs_container.js"; do
	# shellcheck disable=SC2086
	with=$(best_ns $c --steps "$steps" --seed 5)
	# shellcheck disable=SC2086
	without=$(best_ns $c --steps "$steps" --seed 5 --no-probe)
	echo "${c%% *} container: $steps steps, $(((with - without) / steps)) ns/step for the probe ($((with / 1000000)) ms CPU with, $((without / 1000000)) ms without)"
done
