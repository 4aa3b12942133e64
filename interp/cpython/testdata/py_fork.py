# Forks a child (no exec: the same interpreter at the same addresses); the
# child burns in child_work, the parent in parent_work, each for SECONDS of
# its own CPU time (not wall time: the machine may be busy).
import os
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def burn(seconds):
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        x += sum(range(500))
    return x


def child_work(seconds):
    return burn(seconds)


def parent_work(seconds):
    return burn(seconds)


pid = os.fork()
if pid == 0:
    child_work(SECONDS)
    os._exit(0)
parent_work(SECONDS)
os.waitpid(pid, 0)
