# Prints, for every code object of a few stdlib modules, its line table and
# what the interpreter's own co_lines() says; symbolize's tests compare.
import argparse, json, sys, types
import json.decoder, textwrap, dataclasses


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


out = []
for mod in (argparse, json.decoder, textwrap, dataclasses):
    with open(mod.__file__) as f:
        top = compile(f.read(), mod.__file__, "exec")
    for co in codes(top):
        out.append({
            "name": getattr(co, "co_qualname", co.co_name),
            "first": co.co_firstlineno,
            "table": co.co_linetable.hex(),
            "lines": [[s, e, l] for s, e, l in co.co_lines()],
        })
json.dump(out, sys.stdout)
