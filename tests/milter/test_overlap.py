"""Look-ups overlapped with the message (issue 17).

Every name under ov.example and ab.example is answered RTT seconds late
by a FaultDNS proxy ("slow") in front of the test nsd, and each test has a
daemon of its own (an empty cache).  SPF starts at MAIL in the background,
the DKIM key as its DKIM-Signature field arrives, the DMARC names as the
From field arrives: when the body takes longer than the look-ups, the
reply to the end of the message comes in less than one RTT.  A message
aborted while its look-ups are still out cancels them: the next command
is answered at once, not after the DNS timeout.
"""

import time

from conftest import GOOD_IP, NsdServer, accepted_ar, ar_entries, make_msg, \
    new_qid, sign, txt_rdata, zone_records
from faultdns import FaultDNS
from milterclient import MilterClient, split_message, transaction

import pytest

RTT = 0.2


def overlap_records(keys):
    r = []
    for d in ("ov.example", "ab.example"):
        r.append((d, "TXT", txt_rdata("v=spf1 include:_spf.%s -all" % d)))
        r.append(("_spf." + d, "TXT", txt_rdata("v=spf1 ip4:%s -all"
                                                % GOOD_IP)))
        r.append(("_dmarc." + d, "TXT", txt_rdata("v=DMARC1; p=reject")))
        r.append(("sel._domainkey." + d, "TXT", txt_rdata(keys.rsa_txt)))
    return r


@pytest.fixture(scope="module")
def slow_dns(keys, tmp_path_factory):
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-overlap")),
                       zone_records(keys) + overlap_records(keys))
    server.start()
    proxy = FaultDNS(server.port, {
        "ov.example": ("slow", RTT), "*.ov.example": ("slow", RTT),
        # ab.example: the MAIL FROM chain never answers (a DNS timeout)
        "ab.example": "drop", "*.ab.example": ("slow", RTT)})
    yield proxy
    proxy.close()
    server.stop()


def start(m, domain):
    """a negotiated connection through HELO, and the message's parts"""
    c = MilterClient(m.spec, timeout=30)
    c.optneg()
    assert c.connect("mail." + domain, "4", 40000, GOOD_IP,
                     macros={"j": "mx.authmilter.example"}) is None
    assert c.helo("mail." + domain) is None
    return c


def test_eom_reply_within_one_rtt_when_body_is_slower(milters, slow_dns, keys):
    m = milters.new("overlap", [("DNSTimeout", "5"), ("LogLevel", "debug")],
                    nameservers=slow_dns.spec).start()
    msg = sign(make_msg(from_="user@ov.example"), "sel", "ov.example",
               keys.rsa_key)
    headers, body = split_message(msg)
    qid = new_qid()
    c = start(m, "ov.example")
    try:
        assert c.mail("<user@ov.example>", macros={"i": qid}) is None
        assert c.rcpt("<rcpt@example.net>") is None
        assert c.data(macros={"i": qid}) is None
        for name, value in headers:
            assert c.header(name, value) is None
        assert c.eoh(macros={"i": qid}) is None
        # the client's link: the body arrives after every look-up is back
        # (SPF: HELO, MAIL FROM and its include, at most 3 RTT)
        time.sleep(5 * RTT)
        assert c.body(body) is None
        t0 = time.monotonic()
        res = c.eom(macros={"i": qid})
        took = time.monotonic() - t0
    finally:
        c.quit()
    res.headers_sent = headers
    _, got = ar_entries(accepted_ar(res))
    r = {(g[0], g[1]) for g in got if "smtp.helo" not in g[2]}
    assert r == {("spf", "pass"), ("dkim", "pass"), ("arc", "none"),
                 ("dmarc", "pass")}, (got, m.log()[-3000:])
    assert took < RTT, "end of message answered in %.3f s" % took
    # every name was asked once: taken over, not asked again (a retry of
    # libunbound's, the answer late on a loaded machine, is not a question)
    names = [n for _, n, _ in slow_dns.seen]
    for _, n, _ in slow_dns.retransmits:
        names.remove(n)
    for n in ("ov.example", "_spf.ov.example", "sel._domainkey.ov.example",
              "_dmarc.ov.example"):
        assert names.count(n) == 1, (n, names)


def test_abort_cancels_outstanding_lookups(milters, slow_dns, keys):
    """SPF of ab.example never gets its record: without the cancel, the
    next message on the connection would wait for it (DNSTimeout 5 s)
    before its reply; under ASan (scripts/test) the daemon's exit checks
    that nothing leaked"""
    m = milters.new("overlap-abort", [("DNSTimeout", "5")],
                    nameservers=slow_dns.spec).start()
    msg = sign(make_msg(from_="user@ab.example"), "sel", "ab.example",
               keys.rsa_key)
    headers, _ = split_message(msg)
    c = start(m, "ab.example")
    try:
        assert c.mail("<user@ab.example>", macros={"i": new_qid()}) is None
        assert c.rcpt("<rcpt@example.net>") is None
        assert c.data() is None
        for name, value in headers:
            assert c.header(name, value) is None
        time.sleep(RTT / 2)     # SPF, DKIM key and DMARC names still out
        c.abort()
        # the next message, from a domain the test nsd answers at once
        t0 = time.monotonic()
        res = transaction(c, make_msg(), mailfrom="<user@example.org>",
                          queue_id=new_qid())
        took = time.monotonic() - t0
    finally:
        c.quit()
    assert res.step == "eom", res
    assert took < 1.0, "next message answered in %.3f s" % took
    assert m.proc.poll() is None, m.log()
