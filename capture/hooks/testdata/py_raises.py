"""A transition that raises on some calls (the program catches it): those
calls are not steps, the others are."""


def transition(state, action):
    if action["type"] == "distribute" and not action["items"]:
        raise ValueError("nothing to distribute")
    if action["type"] == "post":
        return {"agent_id": state["agent_id"], "shard_id": state["shard_id"], "data": [len(action["content"])] + state["data"]}
    if action["type"] == "distribute":
        return dict(state, data=list(action["items"]))
    return state


if __name__ == "__main__":
    s = {"agent_id": "a", "shard_id": 0, "data": []}
    failed = 0
    for a in [{"type": "post", "author": "a", "content": "1"}, {"type": "distribute", "items": []}] * 5 + [{"type": "distribute", "items": [4]}]:
        try:
            s = transition(s, a)
        except ValueError:
            failed += 1
    print(failed, s["data"])
