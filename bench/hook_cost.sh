#!/usr/bin/env bash
# Cost of the --transition hooks per call (capture/hooks), without tracer:
# the hooks write framed batches to /dev/null as under tracer (the uprobe's
# own cost, one trap per 64 KiB batch, is in docs/capture.md).
#
# For each interpreter, the CPU time per call of a loop (bench/hook_loop.*)
# calling transition() (observed) or other() (the same code, not observed),
# with and without the hook loaded; best of 3 runs each. The hook's cost per
# observed call is transition(hooked) - transition(plain); what it costs
# every other function is other(hooked) - other(plain). For comparison, the
# last column is the binding's Probe.step() alone (bench/probe_step.*), which
# the hook calls once per observed call.
#
# Usage: bench/hook_cost.sh [CALLS] [INTERPRETER...]
#   default: 300000 calls; python3.11 and python3.12 (pyenv), node
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-300000}
shift || true
interps=("$@")
if [ ${#interps[@]} -eq 0 ]; then
	interps=(/root/.pyenv/versions/3.11.*/bin/python3.11 /root/.pyenv/versions/3.12.*/bin/python3.12 /root/.pyenv/versions/3.13.*/bin/python3.13 node)
fi

# The hooks as tracer installs them: each beside its copy of the binding.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/python" "$dir/node"
cp capture/hooks/python/*.py probe/python/tracer_probe.py "$dir/python/"
cp capture/hooks/node/*.cjs capture/hooks/node/*.mjs probe/node/tracer_probe.js "$dir/node/"

best() { # best CMD...: the least of three runs' printed ns/call
	local b="" v
	for _ in 1 2 3; do
		v=$("$@")
		if [ -z "$b" ] || [ "$v" -lt "$b" ]; then b=$v; fi
	done
	echo "$b"
}

printf '%-16s %9s %9s %9s | %9s %10s %9s | %9s\n' interpreter plain hooked "per call" "other" "other+hook" "diff" "step()"
for py in "${interps[@]}"; do
	case "$py" in
	*node*)
		loop=bench/hook_loop.js
		step=bench/probe_step.js
		hook=(env TRACER_TRANSITION=transition NODE_OPTIONS="--require $dir/node/hook.cjs")
		name="node $(node --version)"
		;;
	*)
		loop=bench/hook_loop.py
		step=bench/probe_step.py
		hook=(env TRACER_TRANSITION=transition PYTHONPATH="$dir/python")
		name="python $("$py" -c 'import sys; print(sys.version.split()[0])')"
		;;
	esac
	t0=$(best "$py" "$loop" "$calls" transition)
	t1=$(best "${hook[@]}" "$py" "$loop" "$calls" transition)
	o0=$(best "$py" "$loop" "$calls" other)
	o1=$(best "${hook[@]}" "$py" "$loop" "$calls" other)
	st=$("$py" "$step" "$calls" | sed -n 's/.* \([0-9-]*\) ns\/step.*/\1/p')
	printf '%-16s %6s ns %6s ns %6s ns | %6s ns %7s ns %6s ns | %6s ns\n' "$name" "$t0" "$t1" "$((t1 - t0))" "$o0" "$o1" "$((o1 - o0))" "$st"
done
