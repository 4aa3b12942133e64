"""Four threads, each with its own chain of states."""

import threading


def transition(state, action):
    if action["type"] == "register":
        return dict(state, agent_id=action["name"])
    if action["type"] == "post":
        return dict(state, data=[len(action["content"])] + state["data"])
    return state


def worker(i, n):
    s = {"agent_id": "t%d" % i, "shard_id": i, "data": []}
    s = transition(s, {"type": "register", "name": "agent-%d" % i})
    for k in range(n):
        s = transition(s, {"type": "post", "author": "agent-%d" % i, "content": "x" * (k % 7)})


if __name__ == "__main__":
    ts = [threading.Thread(target=worker, args=(i, 250)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("done")
