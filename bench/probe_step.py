"""Per-step cost of the Python probe binding: CPU time of N calls of Probe.step()
with a typical container state and action, minus the same loop without the
call. Usage: python3 bench/probe_step.py [N]   (default 300000)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "probe", "python"))
import tracer_probe  # noqa: E402

ACTIONS = [
    {"type": "post", "author": "Zoë-12", "content": "hello café 日本語 🦀 naïve"},
    {"type": "comment", "author": "CICADA-7", "content": "ok 👍🏽"},
    {"type": "register", "name": "花子-3"},
    {"type": "distribute", "items": [17, 4000000000, 3]},
]
STATE = {"agent_id": "CICADA-Harbot-0", "shard_id": 0, "data": [5, 3, 12, 7]}


def loop(n, step):
    acts = ACTIONS
    mono = time.monotonic_ns
    start = time.process_time()
    for i in range(n):
        t0 = mono()
        step(acts[i & 3], STATE, t0)
    return time.process_time() - start


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
    p = tracer_probe.Probe(impl="python")
    p.init(STATE)
    base = loop(n, lambda a, s, t: None)
    with_probe = loop(n, p.step)
    p.close()
    per = (with_probe - base) / n * 1e9
    sink = os.environ.get("TRACER_PROBE_FILE") or "/dev/null (framed)"
    print("python %s: %d steps, %.0f ns/step in Probe.step (sink %s)" % (sys.version.split()[0], n, per, sink))


if __name__ == "__main__":
    main()
