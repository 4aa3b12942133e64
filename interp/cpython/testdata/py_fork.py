# Forks a child (no exec: the same interpreter at the same addresses); the
# child burns in child_work, the parent in parent_work.
import os
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def burn(end):
    x = 0
    while time.monotonic() < end:
        x += sum(range(500))
    return x


def child_work(end):
    return burn(end)


def parent_work(end):
    return burn(end)


end = time.monotonic() + SECONDS
pid = os.fork()
if pid == 0:
    child_work(end)
    os._exit(0)
parent_work(end)
os.waitpid(pid, 0)
