"""DNS that fails: temperror results, and OnTempError.

The daemons here forward to a UDP port where a socket of the test reads
queries and never answers (conftest.BlackHole), or to a port where nothing
listens (a stopped name server), with DNSTimeout 1 to keep the suite fast."""

import time

from conftest import (GOOD_IP, accepted_ar, ar_entries, free_port, make_msg,
                      rejected)

BH_OPTS = [("DNSTimeout", "1")]


def bh_milter(milters, blackhole, name, extra=()):
    return milters.get(name, BH_OPTS + list(extra),
                       nameservers="127.0.0.1@%d" % blackhole.port)


def test_dns_timeout_temperror_accepted(milters, blackhole):
    m = bh_milter(milters, blackhole, "blackhole")
    t0 = time.monotonic()
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@example.org>", client_addr=GOOD_IP,
                 timeout=60)
    took = time.monotonic() - t0
    ar = accepted_ar(res)
    _, got = ar_entries(ar)
    spf = {g[2].get("smtp.mailfrom") or g[2].get("smtp.helo"): g[1]
           for g in got if g[0] == "spf"}
    assert spf.get("user@example.org") == "temperror", ar
    dmarc = [g[1] for g in got if g[0] == "dmarc"]
    assert dmarc == ["temperror"], ar
    assert blackhole.queries > 0
    # the MTA waits 30 s per SMTP-stage reply: stay well under that
    assert took < 25, "took %.1fs" % took


def test_dns_timeout_tempfail_when_configured(milters, blackhole):
    m = bh_milter(milters, blackhole, "blackhole-tempfail",
                  [("OnTempError", "tempfail")])
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@example.org>", client_addr=GOOD_IP,
                 timeout=60)
    rejected(res, "451", "4.4.3")
    s = m.summary(res.qid)
    assert s.get("action") == "tempfail", s["line"]


def test_dns_server_down_temperror_accepted(milters):
    """nothing listens on the name server's port (a stopped nsd): the
    queries fail at once (ICMP port unreachable) -> temperror, delivered"""
    port = free_port()
    m = milters.get("dns-down", BH_OPTS, nameservers="127.0.0.1@%d" % port)
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@example.org>", client_addr=GOOD_IP,
                 timeout=60)
    ar = accepted_ar(res)
    _, got = ar_entries(ar)
    spf = [g[1] for g in got if g[0] == "spf" and "smtp.mailfrom" in g[2]]
    assert spf == ["temperror"], ar
    assert [g[1] for g in got if g[0] == "dmarc"] == ["temperror"], ar
