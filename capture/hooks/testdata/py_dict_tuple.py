"""Dict states, tuple actions ("post", author, content): an unmodified
program, observed with --transition transition."""


def transition(state, action):
    kind = action[0]
    if kind == "register":
        return {"agent_id": action[1], "shard_id": state["shard_id"], "data": state["data"]}
    if kind == "post":
        return {"agent_id": state["agent_id"], "shard_id": state["shard_id"], "data": [len(action[2])] + state["data"]}
    if kind == "comment":
        return state
    if kind == "distribute":
        return {"agent_id": state["agent_id"], "shard_id": state["shard_id"], "data": list(action[1])}
    raise ValueError(kind)


ACTIONS = [
    ("register", "zoë-1"),
    ("post", "zoë-1", "héllo 😀"),
    ("comment", "zoë-1", "nice"),
    ("distribute", [3, 1, 2]),
    ("post", "zoë-1", "日本語"),
]

if __name__ == "__main__":
    s = {"agent_id": "a", "shard_id": 7, "data": []}
    for a in ACTIONS * 4:
        s = transition(s, a)
    print(s["data"])
