"""A method on the state: State.transition(self, action). Register and post
return a new State; comment changes nothing and returns None; distribute
changes the state in place and returns None."""


class State:
    __slots__ = ("agent_id", "shard_id", "data")

    def __init__(self, agent_id, shard_id, data):
        self.agent_id, self.shard_id, self.data = agent_id, shard_id, data

    def transition(self, action):
        kind = action["type"]
        if kind == "register":
            return State(action["name"], self.shard_id, list(self.data))
        if kind == "post":
            return State(self.agent_id, self.shard_id, [len(action["content"])] + self.data)
        if kind == "distribute":
            self.data[:] = action["items"]
        return None


if __name__ == "__main__":
    s = State("a", 1, [])
    for a in [
        {"type": "register", "name": "b"},
        {"type": "post", "author": "b", "content": "hi"},
        {"type": "comment", "author": "b", "content": "yo"},
        {"type": "distribute", "items": [9, 8]},
        {"type": "post", "author": "b", "content": "👍🏽"},
    ]:
        s = s.transition(a) or s
    print(s.data)
