"""The loop bench/hook_cost.sh times: N calls of transition() (observed by
the --transition hook) or of other(), the same function under another name
(not observed). Prints the CPU time of the loop per call, in ns.
Usage: python3 bench/hook_loop.py N transition|other"""

import sys
import time


def transition(state, action):
    kind = action["type"]
    if kind == "post":
        return {"agent_id": state["agent_id"], "shard_id": state["shard_id"], "data": [len(action["content"])] + state["data"][:7]}
    if kind == "register":
        return {"agent_id": action["name"], "shard_id": state["shard_id"], "data": state["data"]}
    return state


def other(state, action):
    kind = action["type"]
    if kind == "post":
        return {"agent_id": state["agent_id"], "shard_id": state["shard_id"], "data": [len(action["content"])] + state["data"][:7]}
    if kind == "register":
        return {"agent_id": action["name"], "shard_id": state["shard_id"], "data": state["data"]}
    return state


ACTIONS = [
    {"type": "post", "author": "Zoë-12", "content": "hello café 日本語 🦀 naïve"},
    {"type": "comment", "author": "CICADA-7", "content": "ok 👍🏽"},
    {"type": "register", "name": "CICADA-Harbot-0"},
    {"type": "post", "author": "CICADA-7", "content": "ok"},
]


def main():
    n = int(sys.argv[1])
    f = transition if sys.argv[2] == "transition" else other
    s = {"agent_id": "CICADA-Harbot-0", "shard_id": 0, "data": [5, 3, 12, 7]}
    acts = ACTIONS
    start = time.process_time()
    for i in range(n):
        s = f(s, acts[i & 3])
    print("%.0f" % ((time.process_time() - start) / n * 1e9))


main()
