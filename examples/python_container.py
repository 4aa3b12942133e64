#!/usr/bin/env python3
"""The Moltbook transition system in Python, reported step by step to tracer.

    python3 examples/python_container.py [--steps N] [--seed S] [--agent ID] [--shard N]
    python3 examples/python_container.py --actions FILE.jsonl
    python3 examples/python_container.py --steps N --seed S --emit-actions > FILE.jsonl

It runs a workload (generated from --seed, or replayed from --actions) through
transition(), a faithful copy of the Lean specification (lean/,
MoltbookBisim.transition), and reports the initial state and every step
through probe/python/tracer_probe.py. examples/nodejs_container.js is the same
program in JavaScript: the same seed gives the same actions in both.

Exit codes: 0 done; 2 bad arguments or a bad workload line ("FILE:LINE: problem").
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "probe", "python"))
import tracer_probe  # noqa: E402


def transition(state, action):
    """One step of the specification: the state after action.

    States are {"agent_id": str, "shard_id": int, "data": [int, ...]} and are
    never modified in place. A post prepends the length of its content in
    Unicode scalar values (Lean's String.length; Python's len of a str).
    """
    kind = action["type"]
    if kind == "register":
        return {"agent_id": action["name"], "shard_id": state["shard_id"], "data": state["data"]}
    if kind == "post":
        return {
            "agent_id": state["agent_id"],
            "shard_id": state["shard_id"],
            "data": [len(action["content"])] + state["data"],
        }
    if kind == "comment":
        return state
    if kind == "distribute":
        return {"agent_id": state["agent_id"], "shard_id": state["shard_id"], "data": list(action["items"])}
    raise ValueError("unknown action type %r" % (kind,))


# The workload generator. nodejs_container.js implements exactly the same one;
# change both or neither.
#
# PRNG: a 32-bit Weyl sequence finished by murmur3's fmix32. All arithmetic is
# on unsigned 32-bit integers (mod 2^32); s starts at seed (0 <= seed < 2^32):
#   s = s + 0x9E3779B9
#   z = s
#   z = (z ^ (z >> 16)) * 0x85EBCA6B
#   z = (z ^ (z >> 13)) * 0xC2B2AE35
#   draw() = z ^ (z >> 16)                  in [0, 2^32)
#   below(n) = draw() mod n
#
# Each step draws, in this order:
#   k = below(100): k < 10 register, k < 50 post, k < 85 comment, else distribute
#   register:        name = a name (below)
#   post, comment:   author = a name; content = below(9) words, each
#                    WORDS[below(len(WORDS))], joined by single spaces
#   distribute:      below(6) items, each: if below(4) > 0 then below(1000) else draw()
# a name = NAMES[below(len(NAMES))] + "-" + decimal(below(100)).
#
# The words mix ASCII, accented Latin (precomposed and combining), Greek,
# Cyrillic, CJK, Hangul, astral-plane emoji (with skin tone and ZWJ sequences),
# mathematical letters, quotes, backslashes and control characters, so that
# counting Unicode scalar values and escaping are exercised on every run.

NAMES = [
    "CICADA-Harbot",
    "Moltbook",
    "Zo\u00eb",
    "\u00c5sa",
    "\u82b1\u5b50",
    "\u0414\u043c\u0438\u0442\u0440\u0438\u0439",
    "\U0001f980crab",
    "agent",
]

WORDS = [
    "hello",
    "world",
    "caf\u00e9",
    "nai\u0308ve",
    "\u65e5\u672c\u8a9e",
    "\u4f60\u597d",
    "\ub370\uc774\ud130",
    "\u03a9\u03bc\u03ad\u03b3\u03b1",
    "\U0001f980",
    "\U0001f680",
    "\U0001f44d\U0001f3fd",
    "\U0001f469\u200d\U0001f4bb",
    "\U0001d518\U0001d52b\U0001d526",
    'say "hi"',
    "back\\slash",
    "tab\there\nnewline",
    "",
    "x",
]


class Rand:
    """The PRNG specified above."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def draw(self):
        self.s = (self.s + 0x9E3779B9) & 0xFFFFFFFF
        z = self.s
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
        return z ^ (z >> 16)

    def below(self, n):
        return self.draw() % n


def generate(seed, steps):
    """Yield the first steps actions generated from seed."""
    r = Rand(seed)

    def name():
        return NAMES[r.below(len(NAMES))] + "-" + str(r.below(100))

    for _ in range(steps):
        k = r.below(100)
        if k < 10:
            yield {"type": "register", "name": name()}
        elif k < 85:
            kind = "post" if k < 50 else "comment"
            author = name()
            words = [WORDS[r.below(len(WORDS))] for _ in range(r.below(9))]
            yield {"type": kind, "author": author, "content": " ".join(words)}
        else:
            items = []
            for _ in range(r.below(6)):
                items.append(r.below(1000) if r.below(4) > 0 else r.draw())
            yield {"type": "distribute", "items": items}


class WorkloadError(Exception):
    """A bad line of a workload file; str() is "FILE:LINE: problem"."""


def load_actions(path):
    """Read a workload: one trace-format action object per line; blank lines
    are skipped. Every line is checked before the first step runs."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise WorkloadError("%s: cannot read the workload: %s" % (path, e.strerror)) from e
    actions = []
    for no, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise WorkloadError("%s:%d: not UTF-8 (byte %d)" % (path, no, e.start + 1)) from e
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise WorkloadError("%s:%d: not JSON: %s" % (path, no, e)) from e
        problem = check_action(obj)
        if problem:
            raise WorkloadError("%s:%d: %s" % (path, no, problem))
        actions.append(obj)
    return actions


def check_action(a):
    """Return what is wrong with a workload action, or "" if it is valid."""
    if not isinstance(a, dict):
        return "an action must be a JSON object"
    kind = a.get("type")
    fields = {"register": ("name",), "post": ("author", "content"), "comment": ("author", "content")}
    if kind in fields:
        for f in fields[kind]:
            if not isinstance(a.get(f), str):
                return '%s needs a string "%s"' % (kind, f)
        return ""
    if kind == "distribute":
        items = a.get("items")
        if not isinstance(items, list):
            return 'distribute needs an array "items"'
        for i, x in enumerate(items):
            if type(x) is not int or x < 0:
                return "distribute item %d is %s, not a natural number" % (i + 1, json.dumps(x))
        return ""
    return 'unknown action type %s (want register, post, comment or distribute)' % json.dumps(kind)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python_container.py",
        description="Run the Moltbook transition system and report every step to tracer.",
    )
    p.add_argument("--steps", type=int, default=1000, help="steps to generate (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="workload seed, 0..4294967295 (default 1)")
    p.add_argument("--actions", metavar="FILE.jsonl", help="replay this workload instead of generating one")
    p.add_argument("--agent", default="CICADA-Harbot-0", help="initial agent_id (default CICADA-Harbot-0)")
    p.add_argument("--shard", type=int, default=0, help="initial shard_id (default 0)")
    p.add_argument("--emit-actions", action="store_true", help="print the workload as JSONL and exit")
    p.add_argument("--no-probe", action="store_true", help="run without the probe (to measure its cost)")
    args = p.parse_args(argv)
    if args.steps < 0:
        p.error("--steps must be 0 or more")
    if not 0 <= args.seed <= 0xFFFFFFFF:
        p.error("--seed must be an integer from 0 to 4294967295")
    if args.shard < 0:
        p.error("--shard must be a natural number")
    return args


def main(argv=None, step=transition, impl="python"):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.actions:
        try:
            actions = load_actions(args.actions)
        except WorkloadError as e:
            print("python_container: %s" % e, file=sys.stderr)
            return 2
    else:
        actions = generate(args.seed, args.steps)

    if args.emit_actions:
        out = sys.stdout
        for a in actions:
            out.write(json.dumps(a, ensure_ascii=False, separators=(",", ":")) + "\n")
        return 0

    state = {"agent_id": args.agent, "shard_id": args.shard, "data": []}
    probe = None if args.no_probe else tracer_probe.Probe(impl=impl)
    mono = time.monotonic_ns
    n = 0
    if probe is None:
        for action in actions:
            state = step(state, action)
            n += 1
    else:
        probe.init(state)
        report = probe.step
        for action in actions:
            t0 = mono()
            state = step(state, action)
            report(action, state, t0)
            n += 1
        probe.close()
    print("python_container: %d steps, %d items in data" % (n, len(state["data"])), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
