# Starts eight pythons one after another (the same interpreter, without
# site), each burning 30 ms of CPU in child_work from the start: every
# child's samples must carry its Python frames from its first sample in the
# interpreter, whatever the parent's state.
import subprocess
import sys
import time


def child_work():
    t0 = time.process_time()
    while time.process_time() - t0 < 0.03:
        pass


if sys.argv[1:] == ["child"]:
    child_work()
else:
    for _ in range(8):
        subprocess.run([sys.executable, "-S", __file__, "child"], check=True)
