"""loopnsd.py - what every tier that runs a real nsd on loopback shares:
a free loopback port, and nsd's configuration for one unprivileged server
serving one root zone "." from a directory of its own.

Used by tests/milter/conftest.py, tests/conformance/realdns.py and
tests/differential/nsd_zone.py; each adds the tier's directory's parent
"lib" folder to sys.path.  Python 3 stdlib only.
"""
import os
import random
import socket

# Response rate limiting off: a tier asks thousands of names in seconds
# from 127.0.0.1, and nsd's RRL drops answers then, which a resolver
# reports as a timeout (seen in the differential tier).
NSD_CONF = """server:
    ip-address: 127.0.0.1@%(port)d
    username: ""
    chroot: ""
    database: ""
    zonesdir: "%(dir)s"
    zonelistfile: "%(dir)s/zone.list"
    xfrdfile: "%(dir)s/xfrd.state"
    pidfile: "%(dir)s/nsd.pid"
    logfile: "%(dir)s/nsd.log"
    server-count: 1
    verbosity: 1
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "."
    zonefile: "%(dir)s/root.zone"
"""


def nsd_conf(directory, port):
    """nsd.conf text: serve directory/root.zone on 127.0.0.1@port"""
    return NSD_CONF % {"dir": directory, "port": port}


_given = set()


# Ports for listeners come from below the kernel's ephemeral range, one
# block per pytest-xdist worker.  From inside that range (bind to port 0)
# a port picked now and bound later by another program (Postfix binds its
# listeners seconds after the test picks them) can meanwhile be taken by
# any outgoing connection of a parallel worker as its local port, or be
# handed by the kernel to another worker's port-0 bind: Postfix's master
# then fails to start ("mail system startup failed").  Below the range,
# outgoing connections never use it, and workers never share a block.
PORT_BLOCK_BASE = 10000         # ...up to 10000 + PORT_BLOCK * 11 < 32768
PORT_BLOCK = 2000
_rng = random.Random()          # not the global one: tiers seed that


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _block():
    """this worker's block of ports, or None (then bind to port 0)"""
    w = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    try:
        idx = int(w[2:]) if w.startswith("gw") else 0
    except ValueError:
        return None
    lo = PORT_BLOCK_BASE + idx * PORT_BLOCK
    if lo + PORT_BLOCK > _ephemeral_low():
        return None
    return lo


def _bindable(port):
    """free for both TCP and UDP on loopback right now"""
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t.bind(("127.0.0.1", port))
        u.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        t.close()
        u.close()


def free_port():
    """a loopback port free for both TCP and UDP right now, and never one
    this process was given before: a test that picks ports for several
    listeners (Postfix's) before any of them binds must not get one twice.
    Taken from this worker's block below the ephemeral range where there is
    one (a random start, so that two runs side by side seldom meet)."""
    lo = _block()
    if lo is not None:
        start = _rng.randrange(PORT_BLOCK)
        for i in range(PORT_BLOCK):
            port = lo + (start + i) % PORT_BLOCK
            if port not in _given and _bindable(port):
                _given.add(port)
                return port
    for _ in range(200):        # no block: a port the kernel picks
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        t.close()
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    raise RuntimeError("no free loopback port")
