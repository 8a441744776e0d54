"""loopnsd.py - what every tier that runs a real nsd on loopback shares:
a free loopback port, and nsd's configuration for one unprivileged server
serving one root zone "." from a directory of its own.

Used by tests/milter/conftest.py, tests/conformance/realdns.py and
tests/differential/nsd_zone.py; each adds the tier's directory's parent
"lib" folder to sys.path.  Python 3 stdlib only.
"""
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


def free_port():
    """a loopback port free for both TCP and UDP right now"""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        return port
    raise RuntimeError("no free loopback port")
