"""tracer's transition hook for Python (`tracer run --transition NAME`).

Observes every call of the function or method named by TRACER_TRANSITION and
reports it through the probe binding (tracer_probe.py, beside this file) as one
step of the trace format (docs/trace-format.md): the state it was given
("pre"), the action, the state it returned, t0, t1 and the thread.

- Python 3.12+: sys.monitoring. A PY_START callback sees the first call of
  every code object and disables itself there for good unless the code is the
  transition, so other code pays once, at its first call; PY_RETURN is set on
  the transition's code objects only.
- Before 3.12: sys.setprofile and threading.setprofile (every call of every
  function goes through a short check of its name).

Conventions (docs/transition-hooks.md): the state and the action are the first
two positional parameters, or those named by TRACER_TRANSITION_ARGS
("self,action"). A state is a dict or any object with agent_id, shard_id and
data; an action is a dict or object with its type in type, action_type or kind
and named fields (name; author, content; items) or a sequence args in the
order of the Lean constructor, or a tuple/list whose first item is the type.
A function that returns None is taken to have changed its state argument in
place. Calls that raise are not steps. What cannot be read is counted, and the
count and the first example go to TRACER_HOOK_REPORT/python.PID.json at exit,
which tracer reads. Nothing here raises into the program or writes to its
output.
"""

import atexit
import os
import sys
import threading
import time

_mono = time.monotonic_ns
_STATE_FIELDS = ("agent_id", "shard_id", "data")
_TYPE_FIELDS = ("type", "action_type", "kind")
_NAMED = {"register": ("name",), "post": ("author", "content"), "comment": ("author", "content"), "distribute": ("items",)}
_SUSPENDING = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR
_MAX_PENDING = 100000  # calls in flight (a call that raised leaves one behind until its frame id is reused)


class Unreadable(Exception):
    """A value that does not follow the conventions; str() says why."""


def _what(v):
    t = type(v)
    if t.__module__ in ("builtins", "__builtin__"):
        return "a %s" % t.__name__
    return "a %s object" % t.__name__


def _get(obj, key):
    # A dict's item or an object's attribute (dataclass, namedtuple, __slots__,
    # a plain object); _MISSING when it has neither.
    if isinstance(obj, dict):
        return obj.get(key, _MISSING)
    try:
        return getattr(obj, key)
    except Exception:  # noqa: BLE001 - a property that raises counts as missing
        return _MISSING


_MISSING = object()


def read_state(obj, role="state", copy=True):
    """The trace-format state of obj, its data copied when copy is set (so
    later changes do not alter it), or Unreadable."""
    # The common shapes first: a dict, an object with the three attributes.
    try:
        if type(obj) is dict:
            agent, shard, data = obj["agent_id"], obj["shard_id"], obj["data"]
        else:
            agent, shard, data = obj.agent_id, obj.shard_id, obj.data
        if type(agent) is str and type(data) is list:
            return {"agent_id": agent, "shard_id": shard, "data": data[:] if copy else data}
    except (KeyError, AttributeError, TypeError):
        pass
    return _read_state(obj, role)


def _read_state(obj, role):
    if obj is None:
        raise Unreadable("%s is None" % role)
    agent = _get(obj, "agent_id")
    if agent is _MISSING:
        raise Unreadable("%s has no agent_id field (%s)" % (role, _what(obj)))
    shard = _get(obj, "shard_id")
    if shard is _MISSING:
        raise Unreadable("%s has no shard_id field (%s)" % (role, _what(obj)))
    data = _get(obj, "data")
    if data is _MISSING:
        raise Unreadable("%s has no data field (%s)" % (role, _what(obj)))
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__iter__"):
        raise Unreadable("%s.data is not a sequence (%s)" % (role, _what(data)))
    if not isinstance(agent, str):
        raise Unreadable("%s.agent_id is not a string (%s)" % (role, _what(agent)))
    return {"agent_id": agent, "shard_id": shard, "data": list(data)}


def _type_name(t):
    if isinstance(t, str):
        return t.lower()
    # An enum member: its string value, else its name.
    v = getattr(t, "value", None)
    if isinstance(v, str):
        return v.lower()
    n = getattr(t, "name", None)
    if isinstance(n, str):
        return n.lower()
    return None


def read_action(obj):
    """The trace-format action of obj, or Unreadable."""
    # The common shape first: a dict in the trace format itself.
    if type(obj) is dict:
        kind = obj.get("type")
        try:
            if kind == "post" or kind == "comment":
                return {"type": kind, "author": obj["author"], "content": obj["content"]}
            if kind == "register":
                return {"type": kind, "name": obj["name"]}
        except KeyError:
            pass
    return _read_action(obj)


def _read_action(obj):
    if obj is None:
        raise Unreadable("action is None")
    positional = None
    if isinstance(obj, (tuple, list)) and not hasattr(obj, "_fields"):
        if not obj:
            raise Unreadable("action is an empty %s" % type(obj).__name__)
        raw, positional = obj[0], list(obj[1:])
    else:
        raw = _MISSING
        for f in _TYPE_FIELDS:
            raw = _get(obj, f)
            if raw is not _MISSING:
                break
        if raw is _MISSING:
            raise Unreadable("action has no type field (%s)" % _what(obj))
    kind = _type_name(raw)
    fields = _NAMED.get(kind) if kind else None
    if fields is None:
        raise Unreadable("action type %r is not register, post, comment or distribute (%s)" % (raw, _what(obj)))
    out = {"type": kind}
    if positional is None:
        named = [_get(obj, f) for f in fields]
        if _MISSING not in named:
            positional = named
        else:
            args = _get(obj, "args")
            if args is _MISSING or isinstance(args, (str, bytes)) or not hasattr(args, "__len__"):
                missing = fields[named.index(_MISSING)]
                raise Unreadable("%s action has neither a %s field nor args (%s)" % (kind, missing, _what(obj)))
            positional = list(args)
    if len(positional) < len(fields):
        raise Unreadable("%s action has %d arguments, not %d (%s)" % (kind, len(positional), len(fields), _what(obj)))
    for f, v in zip(fields, positional):
        out[f] = list(v) if f == "items" and not isinstance(v, (str, bytes, dict)) and hasattr(v, "__iter__") else v
    return out


def _matcher(spec):
    """A function (code, frame) -> bool for the --transition NAME, and the
    plain function name every matching code object has."""
    mod, _, qual = spec.rpartition(":")
    name = qual.rpartition(".")[2]

    def module_ok(code, frame):
        if not mod:
            return True
        if frame is not None and frame.f_globals.get("__name__") == mod:
            return True
        fn = code.co_filename
        base = os.path.basename(fn)
        return base == mod or os.path.splitext(base)[0] == mod or fn.endswith("/" + mod)

    def match(code, frame):
        if code.co_name != name:
            return False
        if "." in qual:
            q = getattr(code, "co_qualname", None)
            if q is not None and q != qual and not q.endswith("." + qual):
                return False
        return module_ok(code, frame)

    return match, name


class Hook:
    """The observer: one per process."""

    def __init__(self, spec, argnames, report_dir, probe_path):
        self.spec = spec
        self.match, self.name = _matcher(spec)
        self.argnames = argnames  # (state, action) parameter names, or None: the first two
        self.report_dir = report_dir
        self.probe_path = probe_path
        self.targets = {}  # id(code) -> (state name, action name), or None: not ours
        self.codes = []  # the code objects in targets, kept so that their ids stay theirs
        self.found = []  # "qualname (file:line)" of the code objects observed
        self.pending = {}  # id(frame) -> (pre, action, state object, t0)
        self.calls = 0
        self.steps = 0
        self.raised = 0
        self.unread = 0
        self.first_unread = ""
        self.errors = 0
        self.first_error = ""
        self.probe = None
        self.inited = False
        self.lock = threading.Lock()

    # -- what a target's parameters are --------------------------------------

    def target(self, code, frame):
        """Classify code once and remember the answer."""
        slots = self.classify(code, frame)
        self.codes.append(code)
        self.targets[id(code)] = slots
        return slots

    def classify(self, code, frame):
        """Whether code is a transition; its (state, action) names if so."""
        try:
            if not self.match(code, frame):
                return None
        except Exception:  # noqa: BLE001
            return None
        q = getattr(code, "co_qualname", code.co_name)
        where = "%s (%s:%d)" % (q, os.path.basename(code.co_filename), code.co_firstlineno)
        if code.co_flags & _SUSPENDING:
            # A generator or coroutine returns at each suspension: its
            # calls are not steps the hook can see whole.
            self.calls += 1
            self.unreadable("%s is a generator or an async function, which the hook does not observe" % where)
            return None
        names = code.co_varnames[: code.co_argcount + getattr(code, "co_kwonlyargcount", 0)]
        if self.argnames:
            sname, aname = self.argnames
        elif code.co_argcount >= 2:
            sname, aname = names[0], names[1]
        else:
            sname, aname = None, None
        self.found.append(where)
        return (sname, aname)

    # -- one call ------------------------------------------------------------

    def start(self, slots, frame):
        """At the call: read the state and the action before the body runs."""
        self.calls += 1
        try:
            sname, aname = slots
            if sname is None:
                raise Unreadable("%s takes fewer than two arguments: name them with --transition-args" % self.name)
            loc = frame.f_locals
            if sname not in loc or aname not in loc:
                missing = sname if sname not in loc else aname
                raise Unreadable("%s has no parameter %s" % (self.name, missing))
            s, a = loc[sname], loc[aname]
            pre = read_state(s, "pre")
            act = read_action(a)
        except Unreadable as e:
            self.unreadable(str(e))
            return
        except Exception as e:  # noqa: BLE001
            self.unreadable("%s: %s" % (type(e).__name__, e))
            return
        p = self.pending
        if len(p) >= _MAX_PENDING:
            p.clear()
        p[id(frame)] = (pre, act, s, _mono())

    def finish(self, frame, result):
        """At the return: the state returned (or the state argument, changed
        in place, when the result is None)."""
        t1 = _mono()
        e = self.pending.pop(id(frame), None)
        if e is None:
            return
        pre, act, s, t0 = e
        try:
            st = read_state(s if result is None else result, "result", False)
        except Unreadable as x:
            self.unreadable(str(x))
            return
        except Exception as x:  # noqa: BLE001
            self.unreadable("%s: %s" % (type(x).__name__, x))
            return
        try:
            p = self.probe or self.open_probe(pre)
            p.step(act, st, t0, pre, t1)
            self.steps += 1
        except Exception as x:  # noqa: BLE001
            self.errors += 1
            if not self.first_error:
                self.first_error = "%s: %s" % (type(x).__name__, x)

    def unwound(self, frame):
        """The call raised: it is not a step."""
        if self.pending.pop(id(frame), None) is not None:
            self.raised += 1

    def unreadable(self, why):
        self.unread += 1
        if not self.first_unread:
            self.first_unread = why

    def open_probe(self, first_pre):
        with self.lock:
            if self.probe is not None:
                return self.probe
            import importlib.util

            spec = importlib.util.spec_from_file_location("_tracer_hook_probe", self.probe_path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            p = mod.Probe(impl="python")
            # The first state seen is the trace's initial state.
            p.init(first_pre)
            self.probe = p
            return p

    # -- the report tracer reads ---------------------------------------------

    def write_report(self):
        if not self.report_dir:
            return
        try:
            import json

            # (with sys.monitoring a call that raised is seen only as a call)
            raised = self.raised or max(0, self.calls - self.steps - self.unread - self.errors - len(self.pending))
            rep = {
                "pid": os.getpid(),
                "python": sys.version.split()[0],
                "argv": list(sys.argv[:4]),
                "transition": self.spec,
                "found": self.found[:8],
                "calls": self.calls,
                "steps": self.steps,
                "raised": raised,
                "unreadable": self.unread,
                "first_unreadable": self.first_unread,
                "errors": self.errors,
                "first_error": self.first_error,
            }
            path = os.path.join(self.report_dir, "python.%d.json" % os.getpid())
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(rep, f)
            os.rename(tmp, path)
        except Exception:  # noqa: BLE001
            pass


def _returned_by_exception(frame):
    # Before 3.12 a profile function sees "return" with None both for a
    # return and for an exception leaving the frame: only a RETURN_VALUE at
    # the last instruction is a return.
    try:
        code = frame.f_code.co_code
        i = frame.f_lasti
        return code[i] not in _RETURN_OPS
    except Exception:  # noqa: BLE001
        return False


try:
    import dis as _dis

    _RETURN_OPS = frozenset(_dis.opmap[n] for n in ("RETURN_VALUE", "RETURN_CONST") if n in _dis.opmap)
except Exception:  # noqa: BLE001
    _RETURN_OPS = frozenset([83])


def _install_monitoring(h):
    mon = sys.monitoring
    tool = None
    for t in (4, 3, 5, 2, 1, 0):
        if mon.get_tool(t) is None:
            tool = t
            break
    if tool is None:
        return False
    mon.use_tool_id(tool, "tracer")
    ev = mon.events
    DISABLE = mon.DISABLE
    getframe = sys._getframe
    targets = h.targets
    name = h.name
    set_local = mon.set_local_events
    local = ev.PY_RETURN | ev.PY_YIELD

    # An exception raised in a callback would reach the program: none may.
    def on_start(code, offset):
        if code.co_name != name:
            return DISABLE
        try:
            slots = targets.get(id(code), 0)
            if slots == 0:
                slots = h.target(code, getframe(1))
                if slots is None:
                    return DISABLE
                set_local(tool, code, local)
            elif slots is None:
                return DISABLE
            h.start(slots, getframe(1))
        except Exception:  # noqa: BLE001
            pass

    def on_return(code, offset, value):
        try:
            h.finish(getframe(1), value)
        except Exception:  # noqa: BLE001
            pass

    def on_yield(code, offset, value):
        # A generator or coroutine is not a transition: forget the call.
        try:
            h.pending.pop(id(getframe(1)), None)
        except Exception:  # noqa: BLE001
            pass

    mon.register_callback(tool, ev.PY_START, on_start)
    mon.register_callback(tool, ev.PY_RETURN, on_return)
    mon.register_callback(tool, ev.PY_YIELD, on_yield)
    mon.set_events(tool, ev.PY_START)
    return True


def _install_profile(h):
    targets = h.targets
    name = h.name

    def profile(frame, event, arg):
        code = frame.f_code
        if code.co_name != name:
            return
        try:
            if event == "call":
                slots = targets.get(id(code), 0)
                if slots == 0:
                    slots = h.target(code, frame)
                if slots is not None:
                    h.start(slots, frame)
            elif event == "return":
                # (only calls that started here are pending)
                if arg is None and _returned_by_exception(frame):
                    h.unwound(frame)
                else:
                    h.finish(frame, arg)
        except Exception:  # noqa: BLE001 - an exception here would reach the program
            pass

    sys.setprofile(profile)
    threading.setprofile(profile)
    return True


def install(here):
    """Start observing, from the environment tracer set."""
    spec = os.environ.get("TRACER_TRANSITION", "").strip()
    if not spec:
        return None
    argnames = None
    raw = os.environ.get("TRACER_TRANSITION_ARGS", "").strip()
    if raw:
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) == 2 and all(parts):
            argnames = (parts[0], parts[1])
    h = Hook(spec, argnames, os.environ.get("TRACER_HOOK_REPORT", ""), os.path.join(here, "tracer_probe.py"))
    if hasattr(sys, "monitoring"):
        ok = _install_monitoring(h)
    else:
        ok = False
    if not ok:
        _install_profile(h)
    atexit.register(h.write_report)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: _after_fork(h))
    return h


def _after_fork(h):
    # The child reports on its own (its Probe copy is silent).
    h.calls = h.steps = h.raised = h.unread = h.errors = 0
    h.first_unread = h.first_error = ""
    h.pending.clear()
    h.probe = None
    h.lock = threading.Lock()
