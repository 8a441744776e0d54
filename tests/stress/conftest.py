"""The stress tier reuses the milter tier's harness: nsd on loopback, keys,
the authmilter factory and the project's milter client.  The milter
tier's conftest is loaded under its own name (milter_harness) and its
fixtures and helpers re-exported here."""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MILTER_TESTS = os.path.normpath(os.path.join(HERE, "..", "milter"))
if MILTER_TESTS not in sys.path:
    sys.path.insert(0, MILTER_TESTS)

if "milter_harness" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "milter_harness", os.path.join(MILTER_TESTS, "conftest.py"))
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["milter_harness"] = _mod
    _spec.loader.exec_module(_mod)

from milter_harness import *  # noqa: E402,F401,F403
