# verdict_cases.py: a Moltbook implementation reporting through the probe
# binding, with one way of going wrong per case, for the tests that the live
# check of tracer run and tracer check on the trace it wrote agree.
#
# usage: verdict_cases.py CASE   (ok, minus50, forged, cut, pre)
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "probe", "python"))
import tracer_probe  # noqa: E402


def transition(s, a):
    if a["type"] == "post":
        return dict(s, data=[len(a["content"])] + s["data"])
    return dict(s)


def frame(p, payload):
    """Write payload as the binding's next framed batch (docs/probe-framing.md)."""
    p.flush()
    p._batch += 1
    body = payload.encode()
    os.write(p._fd, tracer_probe.HEADER.pack(tracer_probe.MAGIC, len(body), p._batch) + body)


def main():
    case = sys.argv[1]
    p = tracer_probe.Probe(impl="python")
    state = {"agent_id": "a", "shard_id": 0, "data": []}
    p.init(state)
    for i in range(1, 101):
        a = {"type": "post", "author": "a", "content": "x" * (i % 5)}
        t0 = time.monotonic_ns()
        state = transition(state, a)
        reported = state
        if case == "minus50" and i == 50:
            reported = dict(state, data=[-50])
        p.step(a, reported, t0)
    if case == "forged":
        frame(p, "this is not a record\n")
    elif case == "cut":
        frame(p, '{"kind":"step","seq":101,"action":{"type":"comm')
    elif case == "pre":
        pre = '{"agent_id":"q","shard_id":3,"data":[]}'
        frame(p, '{"kind":"step","seq":101,"tid":1,"pre":%s,"action":{"type":"post","author":"q","content":"ab"},'
                 '"state":{"agent_id":"q","shard_id":3,"data":[2]}}\n' % pre)
    p.close()


main()
