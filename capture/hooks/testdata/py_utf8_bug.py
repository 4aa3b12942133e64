"""A planted bug: post prepends the content's length in UTF-8 bytes, not
Unicode scalar values. The program does not know tracer."""


class State:
    def __init__(self, agent_id, shard_id, data):
        self.agent_id, self.shard_id, self.data = agent_id, shard_id, data


class Action:
    def __init__(self, action_type, *args):
        self.action_type = action_type
        self.args = args


def transition(state, action):
    if action.action_type == "register":
        return State(action.args[0], state.shard_id, state.data)
    if action.action_type == "post":
        return State(state.agent_id, state.shard_id, [len(action.args[1].encode("utf-8"))] + state.data)
    return state


if __name__ == "__main__":
    s = State("CICADA-Harbot-0", 0, [])
    s = transition(s, Action("register", "CICADA-Harbot-0"))
    s = transition(s, Action("post", "CICADA-Harbot-0", "hello"))
    s = transition(s, Action("post", "CICADA-Harbot-0", "héllo"))
    s = transition(s, Action("comment", "CICADA-Harbot-0", "x"))
    print(s.data)
