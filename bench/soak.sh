#!/usr/bin/env bash
# Soak (not part of CI): tracer attached at 999 Hz to a long-running
# Python container for SOAK_SECONDS (600), with tracer's resident set size
# sampled every 10 s; then a 60 s run at 999 Hz that must lose no sample.
#
# Prints the RSS series, the growth from the first minute to the end, and
# the lost counts (samples, and transition batches); exits 1 when a sample or
# a batch was lost in the 60 s run or RSS grew by more than RSS_SLACK_MIB (64)
# after the first minute.
# Usage: bench/soak.sh   (as root, after make build; make soak does both)
# Environment: SOAK_SECONDS (600), LOST_SECONDS (60), FREQ (999),
# RSS_SLACK_MIB (64), TRACER (bin/tracer), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
soak=${SOAK_SECONDS:-600}
lost_s=${LOST_SECONDS:-60}
freq=${FREQ:-999}
slack=${RSS_SLACK_MIB:-64}
tracer=${TRACER:-bin/tracer}
py=${PYTHON:-python3}

die() {
	echo "bench/soak.sh: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "needs root for perf_event and BPF: run sudo make soak"
[ -x "$tracer" ] || die "$tracer is missing: run make build"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# container SECONDS: starts a Python container that steps for longer than
# SECONDS (with its probe writing batches to /dev/null); its pid is $target.
container() {
	"$py" examples/python_container.py --steps $(($1 * 120000)) --seed 7 >/dev/null 2>&1 &
	target=$!
	pids+=("$target")
}

# rss_kib PID: the resident set size of PID in KiB, or nothing once it ended.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# attach_for SECONDS OUT: tracer attach to $target in the background; its
# pid is $tr.
attach_for() {
	"$tracer" attach --pid "$target" --duration "${1}s" -F "$freq" -o "$work/$2.pb.gz" >"$work/$2.out" 2>&1 &
	tr=$!
	pids+=("$tr")
}

# summary OUT: the "N samples in T s (...), L lost" line of a finished attach.
summary() { grep -E '^[0-9]+ samples in ' "$work/$1.out" | tail -1; }

echo "soak: tracer attach -F $freq for $soak s on a Python container; RSS of tracer every 10 s"
container $((soak + 60))
sleep 1
attach_for "$soak" soak
series=()
t=0
while kill -0 "$tr" 2>/dev/null; do
	sleep 10
	t=$((t + 10))
	kib=$(rss_kib "$tr")
	[ -n "$kib" ] || break
	series+=("$kib")
	printf 'soak: %4d s  tracer RSS %6.1f MiB\n' "$t" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
done
wait "$tr" || die "tracer attach failed: $(tail -3 "$work/soak.out")"
kill "$target" 2>/dev/null || true
echo "soak: $(summary soak)"
echo "soak: $(grep -E '^capture: ' "$work/soak.out" | tail -1)"

status=0
if [ "${#series[@]}" -ge 7 ]; then
	# Growth after the first minute: the ring and symbol caches are warm by then.
	first=${series[5]}
	last=${series[-1]}
	grow=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) / 1024 }')
	per_min=$(awk -v g="$grow" -v n="${#series[@]}" 'BEGIN { printf "%.2f", g / ((n - 6) * 10 / 60) }')
	echo "soak: RSS from 60 s to the end: $(awk -v k="$first" 'BEGIN { printf "%.1f", k / 1024 }') -> $(awk -v k="$last" 'BEGIN { printf "%.1f", k / 1024 }') MiB ($grow MiB, $per_min MiB/min)"
	if awk -v g="$grow" -v s="$slack" 'BEGIN { exit !(g > s) }'; then
		echo "soak: RSS grew by more than $slack MiB: not flat"
		status=1
	fi
fi

echo "lost: tracer attach -F $freq for $lost_s s on a fresh container"
container $((lost_s + 30))
sleep 1
attach_for "$lost_s" lost
wait "$tr" || die "tracer attach failed: $(tail -3 "$work/lost.out")"
kill "$target" 2>/dev/null || true
line=$(summary lost)
echo "lost: $line"
lost=$(echo "$line" | sed -n 's/.*, \([0-9]*\) lost.*/\1/p')
if [ "${lost:-x}" != 0 ]; then
	echo "lost: samples were lost at $freq Hz"
	status=1
fi
cap=$(grep -E '^capture: ' "$work/lost.out" | tail -1)
echo "lost: $cap"
if [ -n "$cap" ] && ! echo "$cap" | grep -q 'lost: 0 ring full, 0 gaps'; then
	echo "lost: transition batches were lost at $freq Hz"
	status=1
fi
exit "$status"
