# Imports many generated modules whose bodies burn CPU at import time: each
# body's code object is freed as soon as its import ends, and the next
# module's often takes its address (module bodies all start at line 1).
# Then the program goes on, so that those code objects are long gone when
# the session ends.
import os
import shutil
import sys
import tempfile
import time

N = 60

BODY = """# generated module {i}: a frame named at line 1 was named without its lines

import time


def work_{i}():
    t0 = time.process_time()
    while time.process_time() - t0 < 0.003:
        pass


t0 = time.process_time()
while time.process_time() - t0 < 0.003:  # the module body's own loop
    pass
work_{i}()
"""


def burn(seconds):
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        pass


def main():
    d = tempfile.mkdtemp(prefix="py_modules")
    try:
        for i in range(N):
            with open(os.path.join(d, "gen_mod_%d.py" % i), "w") as f:
                f.write(BODY.format(i=i))
        sys.path.insert(0, d)
        for i in range(N):
            __import__("gen_mod_%d" % i)
        burn(0.1)
    finally:
        shutil.rmtree(d)


main()
