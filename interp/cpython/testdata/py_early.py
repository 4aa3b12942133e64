# Burns CPU at the very start (before any import of its own), then imports
# a few stdlib modules and burns again: a short program whose start the
# Python frames must already cover.
import time


def burn(seconds):
    t0 = time.process_time()
    n = 0
    while time.process_time() - t0 < seconds:
        n += 1
    return n


def early():
    return burn(0.03)


def late():
    return burn(0.03)


early()
import json, decimal, email.parser, argparse  # noqa: E401,E402

late()
