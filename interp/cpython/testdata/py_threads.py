# Three threads, each burning SECONDS of its own CPU time in its own function
# chain: thread_a -> burn_a, thread_b -> burn_b, and the main thread in burn_main.
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def spin(seconds):
    # The thread's own CPU time: each thread burns as long however loaded
    # the machine is (and however the GIL is shared).
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
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


end = SECONDS
ts = [threading.Thread(target=thread_a, args=(end,)), threading.Thread(target=thread_b, args=(end,))]
for t in ts:
    t.start()
burn_main(end)
for t in ts:
    t.join()
