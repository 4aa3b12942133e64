#!/usr/bin/env bash
# SIGKILL of tracer while the shell it traces execs /bin/true in a loop (not
# part of CI; TestKillDuringExecs is the test): each exec stops the process
# until tracer has placed its uprobe, and none may stay stopped once tracer
# is killed. Prints the tries that left a process in state T.
# Usage: bench/kill_during_execs.sh   (as root, after make build)
# Environment: TRACER (bin/tracer), TRIES (10).
set -uo pipefail
cd "$(dirname "$0")/.."
tracer=${TRACER:-bin/tracer}
tries=${TRIES:-10}
bad=0
for i in $(seq 1 "$tries"); do
	"$tracer" run -- sh -c 'while :; do /bin/true; done' >/dev/null 2>&1 &
	tp=$!
	sleep "0.$((RANDOM % 9 + 1))"
	sh=$(pgrep -P "$tp" -x sh | head -1)
	kill -9 "$tp"
	wait "$tp" 2>/dev/null
	sleep 1
	st=$(ps -eo pid,ppid,stat,comm | awk -v sh="$sh" '$3 ~ /^T/ && ($2 == sh || $1 == sh)')
	if [ -n "$st" ]; then
		echo "try $i: left stopped: $st"
		bad=$((bad + 1))
	fi
	[ -n "$sh" ] && kill -9 "$sh" 2>/dev/null
done
echo "$bad of $tries tries left a process stopped"
[ "$bad" -eq 0 ]
