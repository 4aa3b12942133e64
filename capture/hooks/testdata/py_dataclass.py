"""Dataclass states, and actions of three shapes: a dataclass with kind and
args, a NamedTuple with named fields, and an Enum type."""

import enum
from dataclasses import dataclass, field
from typing import List, NamedTuple, Tuple


@dataclass(frozen=True)
class State:
    agent_id: str
    shard_id: int
    data: Tuple[int, ...] = ()


@dataclass
class Act:
    kind: str
    args: List[object] = field(default_factory=list)


class Post(NamedTuple):
    type: str
    author: str
    content: str


class Kind(enum.Enum):
    DISTRIBUTE = "distribute"


class Distribute:
    __slots__ = ("action_type", "items")

    def __init__(self, items):
        self.action_type = Kind.DISTRIBUTE
        self.items = items


def transition(state, action):
    kind = getattr(action, "kind", None) or getattr(action, "type", None) or action.action_type.value
    if kind == "register":
        return State(action.args[0], state.shard_id, state.data)
    if kind == "post":
        content = action.content if isinstance(action, Post) else action.args[1]
        return State(state.agent_id, state.shard_id, (len(content),) + state.data)
    if kind == "distribute":
        return State(state.agent_id, state.shard_id, tuple(action.items))
    return state


if __name__ == "__main__":
    s = State("a", 0)
    for a in [Act("register", ["b"]), Post("post", "b", "ωμέγα"), Act("comment", ["b", "c"]), Distribute([5, 6]), Act("post", ["b", "🦀"])]:
        s = transition(s, a)
    print(s)
