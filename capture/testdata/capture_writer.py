# capture_writer.py: writes framed batches (docs/probe-framing.md) to /dev/null
# through os.write, as the probe binding does, for loader's capture tests.
#
# usage: capture_writer.py BATCHES RECORDS_PER_BATCH
# It waits for one line on stdin (the test attaches meanwhile), then writes:
# ordinary output to stdout and /dev/null, BATCHES batches numbered from 1, the
# largest batch the framing allows, a framed write whose length is wrong, and
# a framed write longer than 64 KiB.
import os
import struct
import sys

MAGIC = b"\xfeTRCBAT1"


def frame(number, payload):
    return MAGIC + struct.pack("<II", len(payload), number) + payload


def records(first, count):
    return b"".join(
        b'{"kind":"step","seq":%d,"t0":1,"t1":2,"tid":1,"action":{"type":"comment","author":"a","content":"x"},"state":{"agent_id":"a","shard_id":0,"data":[]}}\n'
        % (first + i)
        for i in range(count)
    )


def main():
    batches, per = int(sys.argv[1]), int(sys.argv[2])
    sys.stdin.readline()
    null = os.open("/dev/null", os.O_WRONLY)
    for i in range(200):
        print("ordinary output line", i)
        os.write(null, b"ordinary write %d\n" % i)
    sys.stdout.flush()
    seq = 1
    for n in range(1, batches + 1):
        os.write(null, frame(n, records(seq, per)))
        seq += per
    # The largest batch: 16 + N == 65536, whole records padded by one line.
    body = records(seq, 300)
    body = body[: body.rindex(b"\n", 0, 65536 - 16 - 200) + 1]
    pad = 65536 - 16 - len(body)
    body += b" " * (pad - 1) + b"\n"
    os.write(null, frame(batches + 1, body))
    # Malformed: magic, but the byte count is not 16 + N.
    os.write(null, MAGIC + struct.pack("<II", 100, batches + 2) + b"x" * 10)
    # Too long: a framed write of more than 64 KiB.
    big = records(10**6, 600)
    os.write(null, frame(batches + 2, big))
    os.close(null)


main()
