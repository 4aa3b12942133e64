#!/usr/bin/env python3
"""The naive checker that bench/run.sh sets `tracer check` against.

It reads a trace (docs/trace-format.md) one line at a time with
json.loads, applies the transition function to the previous observed
state and compares the result with the observed state, exactly as
`tracer check --relation exact` does for a well-formed, uncapped trace. It
does nothing else: no caps, no Nat beyond Python ints, no report beyond the
first divergence. Standard library only.

Usage: naive_check.py TRACE.jsonl
Prints one line: steps, seconds, steps/s and the peak RSS; exit 1 on a
divergence, 2 on a malformed trace.
"""

import json
import resource
import sys
import time


def transition(state, action):
    """The Lean `transition`: register renames, post prepends the content's
    length in code points, comment changes nothing, distribute replaces data."""
    kind = action["type"]
    if kind == "register":
        return {**state, "agent_id": action["name"]}
    if kind == "post":
        return {**state, "data": [len(action["content"])] + state["data"]}
    if kind == "comment":
        return state
    if kind == "distribute":
        return {**state, "data": list(action["items"])}
    raise ValueError("unknown action type %r" % kind)


def check(path):
    prev = None
    steps = 0
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                print("%s:%d: not JSON: %s" % (path, lineno, e), file=sys.stderr)
                return steps, 2
            kind = rec.get("kind")
            if kind == "init":
                prev = rec["state"]
                continue
            if kind != "step":
                continue
            state = rec["state"]
            if prev is not None and transition(prev, rec["action"]) != state:
                print("%s:%d: divergence at seq %s" % (path, lineno, rec.get("seq")), file=sys.stderr)
                return steps, 1
            prev = state
            steps += 1
    return steps, 0


def main():
    if len(sys.argv) != 2:
        print("usage: naive_check.py TRACE.jsonl", file=sys.stderr)
        return 2
    start = time.perf_counter()
    steps, code = check(sys.argv[1])
    elapsed = time.perf_counter() - start
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("%d steps in %.3f s: %.0f steps/s, peak RSS %.1f MiB" % (steps, elapsed, steps / elapsed, rss_mib))
    return code


if __name__ == "__main__":
    sys.exit(main())
