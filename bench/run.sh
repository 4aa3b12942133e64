#!/usr/bin/env bash
# `make bench`: one run, one table (docs/performance.md).
#
#   sampling   bench/sampling.sh: a 3 s Python loop untraced, under
#              `perf record -F 999 -g`, under `tracer run -F 99` and -F 999
#              (best wall time of ROUNDS interleaved rounds)
#   capture    bench/capture.sh, when it exists: the example container with
#              and without tracer's transition capture
#   probe      bench/probe_cost.sh: what the bindings cost per step
#   check      `tracer check` on a CHECK_STEPS-step trace of the Python
#              container (best of 3; wall time and peak RSS by /usr/bin/time)
#              against bench/naive_check.py (json.loads per line) on the same
#              file, and the model's in-memory benchmark
#   export     the pprof export of 1 M samples (export.BenchmarkWritePprof1M)
#   footprint  bench/footprint.sh: tracer's own peak RSS and CPU beside
#              perf record's, tracer run -- true, attach, check per M steps
#
# Targets: tracer <= perf record; tracer at 999 Hz <= 1.15 x untraced;
# capture <= 1.15 x; check >= 2 M steps/s with peak RSS <= 64 MiB; tracer's
# own peak RSS <= 48 MiB and own CPU <= perf record's.
# Usage: bench/run.sh   (as root, after make build; make bench does both)
# Environment: ROUNDS (3), CHECK_STEPS (1000000), PROBE_STEPS (300000),
# BENCH_CACHE (/tmp/tracer-bench: the generated trace is kept there),
# TRACER (bin/tracer), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
steps=${CHECK_STEPS:-1000000}
probe_steps=${PROBE_STEPS:-300000}
cache=${BENCH_CACHE:-/tmp/tracer-bench}
tracer=${TRACER:-bin/tracer}
py=${PYTHON:-python3}
go=${GO:-go}

die() {
	echo "bench/run.sh: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "needs root for perf_event and BPF: run sudo make bench"
[ -x "$tracer" ] || die "$tracer is missing: run make build"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
log() { echo "bench: $*" >&2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
# verdict VALUE OP LIMIT: "met" or "MISSED"
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? v <= l : v >= l; print ok ? "met" : "MISSED" }'; }

rows=()
row() { rows+=("$(printf '%-40s %-38s %-22s %s' "$1" "$2" "$3" "$4")"); }

# --- sampling -------------------------------------------------------------
log "sampling overhead: bench/sampling.sh $rounds"
bench/sampling.sh "$rounds" >"$work/sampling.txt"
col() { awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$work/sampling.txt"; }
u_wall=$(col untraced 2)
row "untraced python loop" "$u_wall s wall, $(col untraced 3) s cpu" "" ""
if [ -n "$(col perf_record 2)" ]; then
	row "perf record -F 999 -g" "$(col perf_record 2) s, x$(col perf_record 4)" "" ""
fi
row "tracer run -F 99" "$(col tracer_run_99 2) s, x$(col tracer_run_99 4)" "" ""
t_ratio=$(col tracer_run 4)
row "tracer run -F 999" "$(col tracer_run 2) s, x$t_ratio" "<= 1.15 x untraced" "$(verdict "$t_ratio" "<=" 1.15)"
if [ -n "$(col perf_record 2)" ]; then
	vs_perf=$(ratio "$(col tracer_run 2)" "$(col perf_record 2)")
	row "tracer -F 999 / perf record" "x$vs_perf" "<= 1" "$(verdict "$vs_perf" "<=" 1)"
fi

# --- capture --------------------------------------------------------------
c_ratios=()
if [ -x bench/capture.sh ]; then
	log "capture overhead: bench/capture.sh $probe_steps $rounds"
	if bench/capture.sh "$probe_steps" "$rounds" >"$work/capture.txt" 2>"$work/capture.err"; then
		# For each container: a line "NAME container, ..." then one with
		# "tracer run / untraced: Ax wall, Bx CPU; the capture alone (with /
		# without): Cx wall, Dx CPU".
		while read -r name run_w run_c cap_w cap_c; do
			c_ratios+=("$cap_w")
			row "capture alone, $name container" "x$cap_w wall, x$cap_c cpu" "<= 1.15 x" "$(verdict "$cap_w" "<=" 1.15)"
			row "tracer run --trace, $name container" "x$run_w wall, x$run_c cpu (vs untraced)" "" ""
		done < <(awk '
			/^[a-z0-9.]+ container,/ { name = $1 }
			/the capture alone/ {
				n = split($0, f, /[ (),;:]+/); k = 0
				for (i = 1; i <= n; i++) if (f[i] ~ /^[0-9.]+x$/) { k++; v[k] = substr(f[i], 1, length(f[i]) - 1) }
				if (k >= 4) print name, v[1], v[2], v[3], v[4]
			}' "$work/capture.txt")
	fi
	if [ "${#c_ratios[@]}" -eq 0 ]; then
		row "capture (container under tracer)" "bench/capture.sh gave no figure" "<= 1.15 x untraced" "?"
	fi
else
	row "capture (container under tracer)" "not measured: no bench/capture.sh" "<= 1.15 x untraced" "?"
fi

# --- probe ----------------------------------------------------------------
log "probe cost: bench/probe_cost.sh $probe_steps"
bench/probe_cost.sh "$probe_steps" "$py" >"$work/probe.txt" 2>&1 || true
for lang in python node; do
	ns=$(sed -n "s/^$lang[0-9.]* container: .*, \([0-9-]*\) ns\/step.*/\1/p" "$work/probe.txt")
	row "probe binding, $lang container" "${ns:-?} ns/step" "" ""
done

# --- check ----------------------------------------------------------------
trace="$cache/check-$steps.jsonl"
if [ ! -s "$trace" ]; then
	log "generating a $steps-step trace of the Python container into $trace"
	TRACER_PROBE_FILE="$trace.tmp" "$py" examples/python_container.py --steps "$steps" --seed 1 >/dev/null
	mv "$trace.tmp" "$trace"
fi
size_mib=$(awk -v b="$(stat -c %s "$trace")" 'BEGIN { printf "%.0f", b / 1048576 }')
log "tracer check on $trace ($size_mib MiB), best of 3"
best=""
rss=0
for _ in 1 2 3; do
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$tracer" check "$trace" >"$work/check.out" 2>&1 ||
		die "tracer check failed on the generated trace: $(head -3 "$work/check.out")"
	read -r wall kib usr sys <"$work/time"
	if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
		best=$wall
		best_cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	fi
	[ "$kib" -gt "$rss" ] && rss=$kib
done
sps=$(awk -v n="$steps" -v t="$best" 'BEGIN { printf "%.2f", n / (t > 0 ? t : 0.01) / 1e6 }')
rss_mib=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
row "tracer check, $steps steps ($size_mib MiB)" "${sps} M steps/s (${best} s, cpu ${best_cpu} s)" ">= 2 M steps/s" "$(verdict "$sps" ">=" 2)"
row "tracer check peak RSS" "$rss_mib MiB" "<= 64 MiB" "$(verdict "$rss_mib" "<=" 64)"
log "naive Python checker on the same trace"
naive=$("$py" bench/naive_check.py "$trace")
n_sps=$(echo "$naive" | sed -n 's/.*: \([0-9]*\) steps\/s.*/\1/p')
n_rss=$(echo "$naive" | sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p')
row "naive python checker (json.loads)" "$(awk -v s="$n_sps" 'BEGIN { printf "%.3f", s / 1e6 }') M steps/s, $n_rss MiB" "" ""
row "tracer check / naive checker" "x$(ratio "$(awk -v s="$sps" 'BEGIN { print s * 1e6 }')" "$n_sps")" "" ""
log "model benchmark (in memory)"
"$go" test -run '^$' -bench '^BenchmarkCheckTrace$/exact' -benchtime 5x ./model >"$work/model.txt"
m_sps=$(awk '/steps\/s/ { for (i = 1; i < NF; i++) if ($(i + 1) == "steps/s") print $i }' "$work/model.txt" | head -1)
row "model.CheckTrace in memory (exact)" "$(awk -v s="$m_sps" 'BEGIN { printf "%.2f", s / 1e6 }') M steps/s" "" ""

# --- export ---------------------------------------------------------------
log "pprof export of 1 M samples"
"$go" test -run '^$' -bench '^BenchmarkWritePprof1M$' -benchtime 1x ./export >"$work/export.txt"
e_ns=$(awk '/^BenchmarkWritePprof1M/ { print $3 }' "$work/export.txt")
e_cpu=$(awk '/^BenchmarkWritePprof1M/ { for (i = 1; i < NF; i++) if ($(i + 1) == "cpu-s/op") print $i }' "$work/export.txt")
row "pprof export, 1 M samples" "$(awk -v n="$e_ns" 'BEGIN { printf "%.2f", n / 1e9 }') s (cpu ${e_cpu:-?} s)" "<= 2 s" "$(verdict "$(awk -v n="$e_ns" 'BEGIN { print n / 1e9 }')" "<=" 2)"

# --- footprint ------------------------------------------------------------
log "footprint: bench/footprint.sh"
ROUNDS=$rounds CHECK_STEPS=$steps BENCH_CACHE=$cache TRACER=$tracer PYTHON=$py \
	bench/footprint.sh >"$work/footprint.txt" 2>"$work/footprint.err" || log "bench/footprint.sh failed: $(tail -1 "$work/footprint.err")"
if [ -s "$work/footprint.txt" ]; then
	read -r t_rss t_cpu < <(awk '/^tracer run -F 999, python loop/ { print $(NF - 1), $NF }' "$work/footprint.txt")
	read -r p_rss p_cpu < <(awk '/^perf record -q -F 999 -g, same loop/ { print $(NF - 1), $NF }' "$work/footprint.txt")
	row "tracer run -F 999 own peak RSS" "$t_rss MiB (perf record ${p_rss:-?} MiB)" "<= 48 MiB" "$(verdict "$t_rss" "<=" 48)"
	row "tracer run -F 999 own CPU" "$t_cpu s (perf record ${p_cpu:-?} s)" "<= perf record" "$(verdict "$t_cpu" "<=" "${p_cpu:-0}")"
fi

# --- the table ------------------------------------------------------------
echo "tracer benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "python: $("$py" -c 'import sys; print(sys.version.split()[0], sys.executable)'), node $(node --version 2>/dev/null || echo -)"
echo
printf '%-40s %-38s %-22s %s\n' measure value target status
for r in "${rows[@]}"; do echo "$r"; done
if [ -s "$work/footprint.txt" ]; then
	echo
	echo "bench/footprint.sh:"
	sed -n '/^measure/,$p' "$work/footprint.txt"
fi
if [ -s "$work/capture.txt" ]; then
	echo
	echo "bench/capture.sh:"
	cat "$work/capture.txt"
fi
