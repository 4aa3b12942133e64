#!/usr/bin/env python3
"""A planted bug, for tracer's tests and demos: python_container.py where a
comment is stored like a post (its length is prepended to data). The Lean
specification leaves the state unchanged on a comment, so the first comment
makes the data list one item too long: `tracer check` reports a divergence
there under both --relation exact and --relation bisim.

    python3 examples/buggy/python_comment_counts.py --steps N --seed S   (the same flags)
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import python_container  # noqa: E402


def transition(state, action):
    if action["type"] == "comment":
        return python_container.transition(state, dict(action, type="post"))
    return python_container.transition(state, action)


if __name__ == "__main__":
    sys.exit(python_container.main(step=transition))
