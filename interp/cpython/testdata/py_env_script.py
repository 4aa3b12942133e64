#!/usr/bin/env python3
# Run as ./py_env_script.py: env finds python3 in PATH (a pyenv shim here).
import runpy
import sys
import os

sys.argv = [os.path.join(os.path.dirname(__file__), "py_early.py")]
runpy.run_path(sys.argv[0], run_name="__main__")
