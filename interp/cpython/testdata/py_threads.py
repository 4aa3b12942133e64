# Three threads, each burning in its own function chain: thread_a -> burn_a,
# thread_b -> burn_b, and the main thread in burn_main.
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def spin(end):
    x = 0
    while time.monotonic() < end:
        for i in range(2000):
            x += i
    return x


def burn_a(end):
    return spin(end)


def burn_b(end):
    return spin(end)


def burn_main(end):
    return spin(end)


def thread_a(end):
    burn_a(end)


def thread_b(end):
    burn_b(end)


end = time.monotonic() + SECONDS
ts = [threading.Thread(target=thread_a, args=(end,)), threading.Thread(target=thread_b, args=(end,))]
for t in ts:
    t.start()
burn_main(end)
for t in ts:
    t.join()
