# Recurses 300 deep, then burns: deeper than the frame reader's bound.
import sys
import time


def down(n, end):
    if n == 0:
        x = 0
        while time.process_time() < end:
            for _ in range(2000):
                x += 1
        return x
    return down(n - 1, end)


sys.setrecursionlimit(10000)
down(300, time.process_time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
