"""Loaded by Python at start-up because tracer put this directory first on
PYTHONPATH (`tracer run --transition NAME`). It installs the transition hook
(tracer_transition_hook.py, beside this file), takes this directory off
sys.path again, and then runs the sitecustomize module the program would have
loaded without tracer, if there is one. It never raises into the program.
"""


def _tracer_start():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "_tracer_transition_hook", os.path.join(here, "tracer_transition_hook.py")
        )
        mod = importlib.util.module_from_spec(spec)
        sys.modules["_tracer_transition_hook"] = mod
        spec.loader.exec_module(mod)
        mod.install(here)
    except Exception as e:  # noqa: BLE001 - the program must run whatever happens here
        try:
            sys.modules.pop("_tracer_transition_hook", None)
            rep = os.environ.get("TRACER_HOOK_REPORT", "")
            if rep:
                with open(os.path.join(rep, "python.%d.failed" % os.getpid()), "w") as f:
                    f.write("%s: %s\n" % (type(e).__name__, e))
        except Exception:  # noqa: BLE001
            pass

    # This directory is for this module only: the program sees its own path.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # Chain to the program's own sitecustomize, found further down sys.path.
    try:
        import importlib.machinery
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
        if spec is not None and spec.origin and os.path.dirname(os.path.abspath(spec.origin)) != here:
            mod = importlib.util.module_from_spec(spec)
            sys.modules["sitecustomize"] = mod
            spec.loader.exec_module(mod)
    except Exception:  # noqa: BLE001
        # As site.py does for a failing sitecustomize: say so, go on.
        import traceback

        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n")
        traceback.print_exc(limit=1)


_tracer_start()
del _tracer_start
