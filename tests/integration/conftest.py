"""Fixtures for the integration tests: real MTAs in front of authmilter.

The DNS side (keys, the zone, nsd), the authmilter process factory and
the A-R checks come from tests/milter/conftest.py, loaded here as the
module `milter_harness` (its fixtures keys, nsd, workdir, authmilter_bin
are re-exported).  This file adds one Postfix instance for the session,
with one smtpd listener per authmilter configuration.

Run with /usr/bin/python3 as root; see tests/integration/run.
"""

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
MILTER_DIR = os.path.join(os.path.dirname(HERE), "milter")
for d in (HERE, MILTER_DIR):
    if d not in sys.path:
        sys.path.insert(0, d)


def _load_harness():
    if "milter_harness" in sys.modules:
        return sys.modules["milter_harness"]
    spec = importlib.util.spec_from_file_location(
        "milter_harness", os.path.join(MILTER_DIR, "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["milter_harness"] = mod
    spec.loader.exec_module(mod)
    return mod


milter_harness = _load_harness()
# the session fixtures we reuse as they are
keys = milter_harness.keys
nsd = milter_harness.nsd
workdir = milter_harness.workdir
authmilter_bin = milter_harness.authmilter_bin

from milterproxy import MilterProxy  # noqa: E402
from postfix import Postfix  # noqa: E402

free_port = milter_harness.free_port
Authmilter = milter_harness.Authmilter

# authmilter configurations, by Postfix listener name: (overrides, dns)
# dns: "nsd" the test zone, "dead" a port where no name server listens
# (the name server is down), "blackhole" a name server that never answers
# (every query times out), "none" no authmilter at all (milter down)
MILTER_CONFIGS = {
    "default": ([], "nsd"),
    "hold": ([("HoldQuarantinedMessages", "yes")], "nsd"),
    "ignore": ([("IgnoreHosts", "127.0.0.1, ::1, 192.0.2.99")], "nsd"),
    "dnsdown-tempfail": ([("OnTempError", "tempfail"),
                          ("DNSTimeout", "1")], "dead"),
    "dnsdown-accept": ([("OnTempError", "accept"),
                        ("DNSTimeout", "1")], "dead"),
    "dnsslow-tempfail": ([("OnTempError", "tempfail"),
                          ("DNSTimeout", "1")], "blackhole"),
    "milterdown": (None, "none"),
    # a client Postfix treats as remote for header rewriting: it neither
    # adds a missing From nor rewrites address headers (issue 15)
    "remote-rewrite": ([], "nsd"),
}

# smtpd -o settings of a listener besides its milter
LISTENER_PARAMS = {
    "remote-rewrite": {"local_header_rewrite_clients": ""},
}

# Postfix's milter_protocol per listener, once per milter engine (issue
# 12, item 3): listener "proto<N>-<engine>" has milter_protocol = N and its
# own authmilter with that MilterEngine, reached through a MilterProxy
# (milterproxy.py) that records the OPTNEG offer and answer.  2, 3 and 4
# offer no SMFIP_HDR_LEADSPC, 6 does (issue 15, defect 8).
# The engines: AUTHMILTER_PROTO_ENGINES if set (e.g. "builtin libmilter"
# for both in one run), else the engine of the whole tier,
# AUTHMILTER_ENGINE (default builtin; scripts/test runs the tier once per
# engine).
PROTOCOLS = ("2", "3", "4", "6")
PROTO_ENGINES = (os.environ.get("AUTHMILTER_PROTO_ENGINES") or
                 os.environ.get("AUTHMILTER_ENGINE") or "builtin").split()
for _v in PROTOCOLS:
    for _e in PROTO_ENGINES:
        MILTER_CONFIGS["proto%s-%s" % (_v, _e)] = (
            [("MilterEngine", _e), ("HoldQuarantinedMessages", "yes")],
            "nsd")
        LISTENER_PARAMS["proto%s-%s" % (_v, _e)] = {"milter_protocol": _v}


class Stack:
    """the running pieces: stack.postfix, stack.milters[name], stack.nsd"""

    def __init__(self, postfix, milters, nsd_server, proxies):
        self.postfix = postfix
        self.milters = milters
        self.nsd = nsd_server
        self.proxies = proxies      # by listener name (proto*)


@pytest.fixture(scope="session")
def stack(authmilter_bin, nsd, workdir):
    milters = {}
    listeners = {}
    proxies = {}
    pf = None
    dead_dns = "127.0.0.1@%d" % free_port()
    blackhole = milter_harness.BlackHole()
    dns_of = {"nsd": "127.0.0.1@%d" % nsd.port, "dead": dead_dns,
              "blackhole": "127.0.0.1@%d" % blackhole.port}
    try:
        for name, (overrides, dns) in MILTER_CONFIGS.items():
            if overrides is None:
                mport = free_port()      # nothing listens there
            else:
                ns = dns_of[dns]
                m = Authmilter(authmilter_bin, workdir, "pf-" + name, ns,
                               overrides)
                milters[name] = m.start()
                mport = m.port
                if name.startswith("proto"):
                    proxies[name] = MilterProxy(m.port)
                    mport = proxies[name].port
            params = {
                "smtpd_milters": "inet:127.0.0.1:%d" % mport,
                "milter_default_action": "tempfail",
            }
            params.update(LISTENER_PARAMS.get(name, {}))
            listeners[name] = (free_port(), params)
        pf = Postfix(listeners).start()
        yield Stack(pf, milters, nsd, proxies)
    finally:
        if pf is not None:
            pf.stop()
        problems = []
        for m in milters.values():
            m.terminate()
        for m in milters.values():
            if m.wait(10) is None:
                problems.append("%s still running after SIGTERM" % m.name)
                m.kill()
        blackhole.close()
        for p in proxies.values():
            p.close()
        if pf is not None and not problems:
            pf.cleanup()
        assert not problems, problems


@pytest.fixture
def postfix(stack):
    return stack.postfix
