# Prints, for every code object of a few stdlib modules, its line table and
# what the interpreter's own co_lines() says (dis.findlinestarts before
# 3.10, which has no co_lines); the line-table tests compare.
import argparse, dis, json, sys, types
import json.decoder, textwrap, dataclasses


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


def lines(co):
    if hasattr(co, "co_lines"):
        return [[s, e, l] for s, e, l in co.co_lines()]
    starts = list(dis.findlinestarts(co))
    ends = [s for s, _ in starts[1:]] + [len(co.co_code)]
    return [[s, e, l] for (s, l), e in zip(starts, ends)]


out = []
for mod in (argparse, json.decoder, textwrap, dataclasses):
    with open(mod.__file__) as f:
        top = compile(f.read(), mod.__file__, "exec")
    for co in codes(top):
        out.append({
            "name": getattr(co, "co_qualname", co.co_name),
            "first": co.co_firstlineno,
            "table": getattr(co, "co_linetable", co.co_lnotab).hex(),
            "lines": lines(co),
        })
json.dump(out, sys.stdout)
