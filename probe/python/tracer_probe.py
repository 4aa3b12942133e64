"""tracer_probe: report the transitions of a Moltbook implementation to tracer.

Standard library only, Python 3.8 or newer. Put this file's directory on
sys.path and:

    import time, tracer_probe
    p = tracer_probe.Probe(impl="python")
    p.init(state)                      # {"agent_id": str, "shard_id": int, "data": [int, ...]}
    t0 = time.monotonic_ns()
    state = transition(state, action)
    p.step(action, state, t0)          # action as the trace format says, state after the step
    p.close()                          # also done at interpreter exit

Records (the trace format, docs/trace-format.md) are collected in memory and written
in batches, one os.write per batch, at most 64 KiB per batch, and at least every
100 ms while steps arrive (an idle flusher thread writes a batch that has waited
100 ms when no further step comes). The sink is the file named by
TRACER_PROBE_FILE (plain JSONL, a trace that `tracer check` reads as it is), else
/dev/null, where every batch is framed per docs/probe-framing.md so that
tracer's uprobe on CPython's _Py_write can recognise it.

Flushing: close(), normal exit, sys.exit, KeyboardInterrupt and uncaught
exceptions all write the pending batch (atexit). A hard crash (SIGKILL, an
unhandled SIGTERM, os._exit, a segfault) loses at most the unflushed batch:
the records of the last 100 ms or the last 64 KiB, whichever is less.

See probe/README.md for the caps on large states and the other details.
"""

import atexit
import json
import os
import struct
import sys
import threading
import time

__all__ = ["Probe"]

# Batch framing (docs/probe-framing.md): magic, payload length, batch number.
MAGIC = b"\xfeTRCBAT1"
HEADER = struct.Struct("<8sII")
MAX_BATCH = 65536  # bytes of one write, header included
MAX_PAYLOAD = MAX_BATCH - HEADER.size
FLUSH_NS = 100000000  # a batch is written once its first record is this old

# Caps (docs/trace-format.md): longer values are recorded as their length.
MAX_DATA = 1000  # state.data items
MAX_ITEMS = 1000  # distribute items
MAX_CONTENT = 4096  # post/comment content, Unicode scalar values

_mono = time.monotonic_ns
_esc = json.encoder.encode_basestring  # JSON string literal, quotes included
_int = int.__repr__  # decimal digits; TypeError for anything but an int
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr).encode

# Encoding errors that the slow path turns into a capped or placeholder value:
# a Python int beyond sys.get_int_max_str_digits() (4300 digits by default
# from 3.11 on) raises ValueError, and so does a reference cycle.
_BAD = (TypeError, KeyError, AttributeError, ValueError, RecursionError)


def _generic(v):
    """JSON for any value; it never raises."""
    try:
        return _encode(v)
    except _BAD as e:
        return _encode("<tracer_probe: cannot encode %s: %s>" % (type(v).__name__, e))


class Probe:
    """One stream of records: an optional init record, then steps seq 1, 2, ...

    A Probe is safe to use from several threads; each step records the native
    thread id of its caller. After os.fork the child's copy stays silent.
    """

    def __init__(self, impl="python"):
        self.impl = str(impl)
        self.dropped = 0  # records too large to frame even after capping
        self._framed = False
        self._lock = threading.Lock()
        self._local = threading.local()
        # A batch is _buf (the header's room, then records already encoded)
        # followed by _parts (records not yet encoded); _bound is at least the
        # UTF-8 size of _parts: exact for ASCII records, 4 bytes a character
        # for the others, so most records are never measured one by one.
        self._buf = bytearray(HEADER.size)
        self._parts = []
        self._bound = 0
        self._first = 0  # t1 of the oldest pending record
        self._seq = 0
        self._batch = 0
        self._closed = False
        self._flusher = None
        self._pid = os.getpid()
        self._fd = -1
        path = os.environ.get("TRACER_PROBE_FILE", "")
        if path:
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            except OSError as e:
                # The program runs on; tracer can still capture the batches.
                sys.stderr.write(
                    "tracer_probe: cannot write TRACER_PROBE_FILE=%s (%s): records go to /dev/null\n" % (path, e.strerror)
                )
            # TRACER_PROBE_FRAMED=1 writes the framed batches to the file, as a
            # uprobe would see them (for testing readers of the framing).
            self._framed = os.environ.get("TRACER_PROBE_FRAMED", "") == "1"
        if self._fd < 0:
            self._fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            self._framed = True
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def init(self, state):
        """Record the initial state."""
        rec = '{"kind":"init","impl":%s,"pid":%d,"state":%s}\n' % (
            _esc(self.impl),
            self._pid,
            _state(state),
        )
        with self._lock:
            if self._closed:
                return
            self._add(rec, time.monotonic_ns())

    def step(self, action, state, t0, pre=None, t1=None):
        """Record one step: the action, the state after it, and its start time
        t0 (time.monotonic_ns() taken before the transition). t1 is now
        unless given. pre, when given, is the state the step started from
        (recorded as the step's "pre")."""
        if t1 is None:
            t1 = _mono()
        if type(t0) is not int:
            t0 = _ns(t0, t1)
        try:
            tid = self._local.tid
        except AttributeError:
            tid = self._local.tid = threading.get_native_id()
        # The common shapes are formatted inline: this is the hot path.
        try:
            kind = action["type"]
            if kind == "post" or kind == "comment":
                content = action["content"]
                if len(content) <= MAX_CONTENT:
                    act = '{"type":"%s","author":%s,"content":%s}' % (kind, _esc(action["author"]), _esc(content))
                else:
                    act = _action(action)
            elif kind == "register":
                act = '{"type":"register","name":%s}' % _esc(action["name"])
            else:
                act = _action(action)
            data = state["data"]
            if len(data) <= MAX_DATA:
                st = '{"agent_id":%s,"shard_id":%s,"data":[%s]}' % (
                    _esc(state["agent_id"]),
                    _int(state["shard_id"]),
                    _nats(data),
                )
            else:
                st = _state(state)
            if pre is not None:
                data = pre["data"]
                if len(data) <= MAX_DATA:
                    act += ',"pre":{"agent_id":%s,"shard_id":%s,"data":[%s]}' % (
                        _esc(pre["agent_id"]),
                        _int(pre["shard_id"]),
                        _nats(data),
                    )
                else:
                    act += ',"pre":' + _state(pre)
        except _BAD:
            act = _action(action)
            st = _state(state)
            if pre is not None:
                act += ',"pre":' + _state(pre)
        with self._lock:
            if self._closed:
                return
            self._seq += 1
            rec = '{"kind":"step","seq":%d,"t0":%d,"t1":%d,"tid":%d,"action":%s,"state":%s}\n' % (
                self._seq,
                t0,
                t1,
                tid,
                act,
                st,
            )
            n = len(rec) if rec.isascii() else 4 * len(rec)
            if not self._parts or len(self._buf) + self._bound + n > MAX_BATCH:
                self._add(rec, t1)
                return
            self._parts.append(rec)
            self._bound += n
            if t1 - self._first >= FLUSH_NS:
                self._flush()

    def flush(self):
        """Write the pending batch now."""
        with self._lock:
            self._flush()

    def close(self):
        """Write the pending batch and close the sink. Later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            self._flush()
            self._closed = True
            try:
                os.close(self._fd)
            except OSError:
                pass

    # The methods below run with self._lock held.

    def _add(self, rec, now):
        # The slow path of adding a record: the first of a batch, or one that
        # may not fit by the bound. It encodes what is pending and measures.
        self._settle()
        n = len(_utf8(rec))
        if n > MAX_PAYLOAD:
            rec = _shrink(rec)
            n = len(_utf8(rec))
            if n > MAX_PAYLOAD:
                self._oversized(rec)
                return
        if len(self._buf) + n > MAX_BATCH:
            self._flush()
        if len(self._buf) == HEADER.size:
            self._first = now
            if self._flusher is None:
                self._start_flusher()
        self._parts.append(rec)
        self._bound = n
        if now - self._first >= FLUSH_NS:
            self._flush()

    # _settle and _flush take their state apart before they write, so that
    # an exception raised between two bytecodes (KeyboardInterrupt) can lose
    # the batch being written but never writes a record twice.

    def _settle(self):
        parts = self._parts
        if parts:
            self._parts = []
            self._bound = 0
            self._buf += _utf8("".join(parts))

    def _flush(self):
        if self._closed:
            return
        self._settle()
        buf = self._buf
        if len(buf) == HEADER.size:
            return
        self._buf = bytearray(HEADER.size)
        self._batch += 1
        if self._framed:
            HEADER.pack_into(buf, 0, MAGIC, len(buf) - HEADER.size, self._batch & 0xFFFFFFFF)
            self._write_once(buf)
        else:
            self._write_all(memoryview(buf)[HEADER.size :])

    def _oversized(self, rec):
        # A record that does not fit in one batch even with data and content
        # capped (a huge agent_id or name). A plain file takes it as it is; in
        # the framed stream it is dropped and its batch number skipped, so the
        # reader counts one lost batch.
        self._flush()
        if self._framed:
            self._batch += 1
            self.dropped += 1
        else:
            self._write_all(_utf8(rec))

    def _write_once(self, buf):
        try:
            os.write(self._fd, buf)
        except OSError:
            pass  # a full disk or a closed fd must not break the program

    def _write_all(self, buf):
        view = memoryview(buf)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            pass

    def _start_flusher(self):
        t = threading.Thread(target=self._flush_idle, name="tracer-probe-flush", daemon=True)
        self._flusher = t
        t.start()

    def _flush_idle(self):
        while True:
            time.sleep(FLUSH_NS / 1e9)
            with self._lock:
                if self._closed:
                    return
                if (self._parts or len(self._buf) > HEADER.size) and time.monotonic_ns() - self._first >= FLUSH_NS:
                    self._flush()

    def _after_fork(self):
        # The child must not repeat the parent's pending records nor mix its
        # steps into the parent's sequence.
        self._lock = threading.Lock()
        self._buf = bytearray(HEADER.size)
        self._parts = []
        self._bound = 0
        self._closed = True
        self._flusher = None


# _NATS[n] formats n list items; %r keeps ints exact and makes anything else
# (True, None, "5", inf) an invalid or visibly wrong record, never a silent
# conversion.
_NATS = tuple(",".join(["%r"] * n) for n in range(65))


def _nats(items):
    n = len(items)
    if n < len(_NATS):
        return _NATS[n] % tuple(items)
    return ",".join(map(repr, items))


def _utf8(s):
    # Lone surrogates (from surrogateescape'd bytes) become \udXXX, which is a
    # valid JSON escape inside the string they occur in.
    return s.encode("utf-8", "backslashreplace")


def _state(s):
    try:
        data = s["data"]
        if len(data) > MAX_DATA:
            body = '"data_len":%d,"data_capped":true' % len(data)
        else:
            body = '"data":[%s]' % _nats(data)
        return '{"agent_id":%s,"shard_id":%s,%s}' % (_esc(s["agent_id"]), _int(s["shard_id"]), body)
    except _BAD:
        pass
    return _generic(_cap_state(s, 0 if _has_bad_int(s, "data") else MAX_DATA))


def _action(a):
    try:
        kind = a["type"]
        if kind == "post" or kind == "comment":
            content = a["content"]
            if len(content) > MAX_CONTENT:
                body = '"content_len":%d,"content_capped":true' % len(content)
            else:
                body = '"content":' + _esc(content)
            return '{"type":"%s","author":%s,%s}' % (kind, _esc(a["author"]), body)
        if kind == "register":
            return '{"type":"register","name":%s}' % _esc(a["name"])
        if kind == "distribute":
            items = a["items"]
            if len(items) > MAX_ITEMS:
                return '{"type":"distribute","items_len":%d,"items_capped":true}' % len(items)
            return '{"type":"distribute","items":[%s]}' % _nats(items)
    except _BAD:
        pass
    return _generic(_cap_action(a, 0 if _has_bad_int(a, "items") else MAX_ITEMS))


def _ns(t0, t1):
    # A t0 that is not an int: a float is truncated, anything else becomes t1.
    try:
        return int(t0)
    except (TypeError, ValueError, OverflowError):
        return t1


def _has_bad_int(d, key):
    # Whether d[key] holds an int too long for repr(); such a list is capped.
    try:
        for x in d[key]:
            if type(x) is int:
                repr(x)
    except ValueError:
        return True
    except Exception:  # noqa: BLE001 - anything else is the generic encoder's business
        pass
    return False


def _cap_state(s, limit=MAX_DATA):
    if isinstance(s, dict) and isinstance(s.get("data"), (list, tuple)) and len(s["data"]) > limit:
        s = dict(s)
        s["data_len"] = len(s.pop("data"))
        s["data_capped"] = True
    return s


def _cap_action(a, limit=MAX_ITEMS):
    if not isinstance(a, dict):
        return a
    c = a.get("content")
    if isinstance(c, str) and len(c) > MAX_CONTENT:
        a = dict(a)
        a["content_len"] = len(a.pop("content"))
        a["content_capped"] = True
    it = a.get("items")
    if isinstance(it, (list, tuple)) and len(it) > limit:
        a = dict(a)
        a["items_len"] = len(a.pop("items"))
        a["items_capped"] = True
    return a


def _shrink(rec):
    # Make a record that would not fit in one batch smaller: cap its data,
    # items and content whatever their length. The checker treats a capped
    # field the same way at any length.
    try:
        r = json.loads(rec)
    except ValueError:
        return rec  # cannot happen for our own output; let the caller drop it
    for key in ("pre", "state"):
        st = r.get(key)
        if isinstance(st, dict) and "data" in st:
            st["data_len"] = len(st.pop("data"))
            st["data_capped"] = True
    act = r.get("action")
    if isinstance(act, dict):
        if isinstance(act.get("items"), list):
            act["items_len"] = len(act.pop("items"))
            act["items_capped"] = True
        if isinstance(act.get("content"), str):
            act["content_len"] = len(act.pop("content"))
            act["content_capped"] = True
    return _generic(r) + "\n"
