# Two functions at a known 3:1 CPU split: each round runs the same loop
# 3 * N times in heavy and N times in light, for SECONDS seconds of CPU time
# (argv[1]; CPU time, so that a loaded machine still yields the same samples).
import sys
import time

N = 20000


def heavy(n):
    x = 0
    for i in range(3 * n):
        x += i * i % 7
    return x


def light(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def main(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        heavy(N)
        light(N)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
