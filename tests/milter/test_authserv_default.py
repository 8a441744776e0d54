"""AuthservID's default is this host's FQDN (issue 16), as Debian sets
Postfix's myhostname: `hostname --fqdn` (the host name if it has a dot,
else its canonical name from getaddrinfo AI_CANONNAME).  Before, it was the
short gethostname(): an A-R beginning "mx;".

Each daemon runs in its own UTS and mount namespace (unshare, root) with a
dotless host name and its own /etc/hosts, so the canonical name is known;
the oracle is `hostname --fqdn` run in that same namespace just before the
daemon starts (the `postconf -d myhostname` of a main.cf-less Postfix is
"NAME.localdomain", which no Debian install uses: its postinst writes
hostname --fqdn into main.cf)."""

import os
import shutil

import pytest

from conftest import Authmilter, accepted_ar, make_msg, parse_ar, wait_for

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def start_in_namespace(authmilter_bin, nsd, workdir, name, hostname, hosts):
    """a daemon without AuthservID, host name `hostname`, /etc/hosts
    `hosts`; returns (daemon, what hostname --fqdn said in there)"""
    d = os.path.join(workdir, "authserv-" + name)
    os.makedirs(d, exist_ok=True)
    m = Authmilter(authmilter_bin, d, name, "127.0.0.1@%d" % nsd.port)
    with open(m.conf) as f:
        conf = [ln for ln in f if not ln.startswith("AuthservID ")]
    with open(m.conf, "w") as f:
        f.writelines(conf)
    hosts_file = os.path.join(d, "hosts")
    with open(hosts_file, "w") as f:
        f.write(hosts)
    oracle = os.path.join(d, "fqdn")
    wrapper = os.path.join(d, "in-namespace")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                "exec %s --uts --mount sh -c 'hostname %s && "
                "mount --bind %s /etc/hosts && hostname --fqdn > %s && "
                "exec %s \"$@\"' sh \"$@\"\n"
                % (UNSHARE, hostname, hosts_file, oracle, authmilter_bin))
    os.chmod(wrapper, 0o755)
    m.binary = wrapper
    m.start()
    assert wait_for(lambda: os.path.exists(oracle), 5)
    with open(oracle) as f:
        return m, f.read().strip()


def authserv_id(m):
    res = m.send(make_msg(), mailfrom="<user@example.org>")
    return parse_ar(accepted_ar(res)).authserv_id


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (unshare)")
def test_default_authserv_id_is_the_fqdn(authmilter_bin, nsd, workdir):
    m, fqdn = start_in_namespace(
        authmilter_bin, nsd, workdir, "fqdn", "mx",
        "127.0.0.1 localhost\n192.0.2.25 mx.fqdn.example mx\n")
    try:
        assert fqdn == "mx.fqdn.example", fqdn     # the oracle itself
        assert authserv_id(m) == fqdn
        assert "AuthservID" not in m.log(), m.log()  # no warning
    finally:
        m.terminate()
        assert m.wait(10) == 0, m.log()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (unshare)")
def test_default_authserv_id_short_name_warns(authmilter_bin, nsd, workdir):
    """no FQDN to be had: the short name, and a warning that says so"""
    m, fqdn = start_in_namespace(
        authmilter_bin, nsd, workdir, "short", "mx",
        "127.0.0.1 localhost\n192.0.2.25 mx\n")
    try:
        assert fqdn == "mx", fqdn
        assert authserv_id(m) == "mx"
        assert "AuthservID: host name \"mx\" is not a domain name" in \
            m.log(), m.log()
    finally:
        m.terminate()
        assert m.wait(10) == 0, m.log()
