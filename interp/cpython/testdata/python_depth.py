# Burns CPU at a known Python stack depth: <module> -> outer -> middle ->
# spin (4 frames), then prints "ready" and, with "deep", recurses 300 deep.
import sys


def spin(seconds):
    import time
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        for _ in range(2000):
            x += 1
    return x


def middle(seconds):
    return spin(seconds)


def outer(seconds):
    return middle(seconds)


def deep(n, seconds):
    if n == 0:
        return spin(seconds)
    return deep(n - 1, seconds)


sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.readline()
if len(sys.argv) > 1 and sys.argv[1] == "deep":
    deep(300, 1.0)
else:
    outer(1.0)
