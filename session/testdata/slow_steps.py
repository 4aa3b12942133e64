# slow_steps.py: a Moltbook implementation whose steps take 3 ms of CPU
# each (a busy loop inside the step), reported through the probe binding,
# and that prints plenty of ordinary output. For session's capture tests:
# most samples fall inside a step, so they must carry its labels.
#
# usage: slow_steps.py STEPS
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "probe", "python"))
import tracer_probe  # noqa: E402


def spin(ns):
    # CPU time, not wall time: a step holds the same number of samples
    # however loaded the machine is.
    end = time.thread_time_ns() + ns
    x = 0
    while time.thread_time_ns() < end:
        x += 1
    return x


def main():
    steps = int(sys.argv[1])
    p = tracer_probe.Probe(impl="python")
    state = {"agent_id": "a", "shard_id": 0, "data": []}
    p.init(state)
    null = os.open("/dev/null", os.O_WRONLY)
    for i in range(steps):
        if i % 2 == 0:
            action = {"type": "post", "author": "a", "content": "hé" * (i % 5)}
        else:
            action = {"type": "comment", "author": "b", "content": "x"}
        t0 = time.monotonic_ns()
        spin(3_000_000)
        if action["type"] == "post":
            state = dict(state, data=[len(action["content"])] + state["data"])
        p.step(action, state, t0)
        # ordinary output between steps, through the same write path
        for j in range(20):
            print("step", i, "line", j)
            os.write(null, b"not a batch\n")
        sys.stdout.flush()
    p.close()


main()
