"""DNS faults (issue 7), each with the RFC's result and the configured
action.  Records are served by a test nsd on loopback; a FaultDNS proxy
(faultdns.py) in front of it answers SERVFAIL, never answers, or
truncates UDP answers for the names given below.

Defaults of the daemon: OnTempError accept (temperror in the A-R),
RejectFailures yes.  Clients: GOOD_IP (192.0.2.10) is allowed by every
SPF record here; BAD_IP (198.51.100.20) by none.
"""

import time

import pytest

from conftest import (BAD_IP, GOOD_IP, NsdServer, accepted_ar, ar_entries,
                      make_msg, rejected, sign, txt_rdata, zone_records)
from faultdns import FaultDNS

SPF_GOOD = "v=spf1 ip4:%s -all" % GOOD_IP


def many_strings(text, size=1):
    """TXT rdata of text cut into character-strings of size bytes"""
    parts = [text[i:i + size] for i in range(0, len(text), size)]
    return " ".join('"%s"' % p for p in parts)


def fault_records(keys):
    r = []

    def txt(owner, text):
        r.append((owner, "TXT", txt_rdata(text)))

    def domain(name, spf=SPF_GOOD, dmarc="v=DMARC1; p=reject"):
        r.append((name, "A", "192.0.2.1"))
        if spf is not None:
            txt(name, spf)
        if dmarc is not None:
            txt("_dmarc." + name, dmarc)

    domain("tc.example")
    domain("servfail-spf.example")
    domain("servfail-dmarc.example")
    domain("drop-dmarc.example")
    domain("split.example", spf=None, dmarc=None)
    r.append(("split.example", "TXT", many_strings(SPF_GOOD)))
    r.append(("_dmarc.split.example", "TXT",
              many_strings("v=DMARC1; p=reject", 3)))
    # about 1 KB: more than a plain 512-byte UDP answer holds
    big = "v=spf1 " + " ".join("ip4:203.0.113.%d" % i for i in range(1, 62)) \
        + " ip4:%s -all" % GOOD_IP
    domain("big.example", spf=big)
    # about 3.5 KB, 200 mechanisms: past what libspf2 evaluates (64)
    huge = "v=spf1 " + " ".join("ip4:203.0.113.%d" % i for i in range(1, 200)) \
        + " ip4:%s -all" % GOOD_IP
    domain("huge.example", spf=huge)
    domain("two-spf.example")
    txt("two-spf.example", "v=spf1 -all")
    domain("loop.example", spf="v=spf1 include:loop.example ip4:%s -all"
           % GOOD_IP)
    for i in range(12):
        domain("chain%d.example" % i, dmarc="v=DMARC1; p=reject",
               spf="v=spf1 include:chain%d.example -all" % (i + 1)
               if i < 11 else SPF_GOOD)
    domain("void.example", spf="v=spf1 a:nx1.void.example a:nx2.void.example "
           "a:nx3.void.example ip4:%s -all" % GOOD_IP)
    domain("two-void.example", spf="v=spf1 a:nx1.two-void.example "
           "a:nx2.two-void.example ip4:%s -all" % GOOD_IP)
    domain("dkimfault.example")
    txt("badkey._domainkey.dkimfault.example", "v=DKIM1; k=rsa; p=!!not*base64")
    txt("revoked._domainkey.dkimfault.example", "v=DKIM1; k=rsa; p=")
    txt("good._domainkey.dkimfault.example", keys.rsa_txt)
    domain("junk.example", dmarc="v=DMARC1; p=reject; foo=bar; x; pct=abc; "
           "rua=not-a-uri; adkim=q; fo=zz")
    return r


FAULTS = {
    "tc.example": "tc",
    "_dmarc.tc.example": "tc",
    "servfail-spf.example": "servfail",
    "_dmarc.servfail-dmarc.example": "servfail",
    "_dmarc.drop-dmarc.example": "drop",
}


@pytest.fixture(scope="module")
def fault_dns(keys, tmp_path_factory):
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-faults")),
                       zone_records(keys) + fault_records(keys))
    server.start()
    proxy = FaultDNS(server.port, FAULTS)
    yield proxy
    proxy.close()
    server.stop()


@pytest.fixture(scope="module")
def fm(milters, fault_dns):
    return milters.get("faults", [("DNSTimeout", "2")],
                       nameservers=fault_dns.spec)


def send(m, domain, ip=GOOD_IP, msg=None, **kw):
    return m.send(msg or make_msg(from_="user@" + domain),
                  mailfrom="<user@%s>" % domain, client_addr=ip,
                  helo="mail.example.org", **kw)


def results(value):
    """{method: [result, ...]} of an A-R value, HELO entry left out"""
    _, got = ar_entries(value)
    out = {}
    for g in got:
        if g[0] == "spf" and "smtp.helo" in g[2]:
            continue
        out.setdefault(g[0], []).append(g[1])
    return out


# ------------------------------------------------------------- transport

def test_truncated_udp_answer_retried_over_tcp(fm, fault_dns):
    res = send(fm, "tc.example")
    assert results(accepted_ar(res)) == {"spf": ["pass"], "dkim": ["none"],
                                         "arc": ["none"], "dmarc": ["pass"]}
    tcp = {n for t, n, f in fault_dns.seen if t == "tcp"}
    assert "tc.example" in tcp and "_dmarc.tc.example" in tcp, fault_dns.seen


def test_truncated_udp_dmarc_record_enforced(fm):
    rejected(send(fm, "tc.example", ip=BAD_IP))


def test_timeout_on_dmarc_record_temperror_accepted(fm):
    t0 = time.monotonic()
    res = send(fm, "drop-dmarc.example", ip=BAD_IP, timeout=60)
    assert results(accepted_ar(res))["dmarc"] == ["temperror"]
    assert time.monotonic() - t0 < 20


def test_servfail_on_spf_record_temperror(fm):
    """RFC 7208 4.4: SERVFAIL -> temperror; no DMARC pass without SPF, and
    the aligned SPF identifier erred: dmarc temperror, OnTempError accept"""
    r = results(accepted_ar(send(fm, "servfail-spf.example")))
    assert r["spf"] == ["temperror"] and r["dmarc"] == ["temperror"], r


def test_servfail_on_dmarc_record_temperror(fm):
    r = results(accepted_ar(send(fm, "servfail-dmarc.example", ip=BAD_IP)))
    assert r["spf"] == ["fail"] and r["dmarc"] == ["temperror"], r


def test_servfail_on_dmarc_record_tempfail_when_configured(milters, fault_dns):
    m = milters.get("faults-tempfail", [("DNSTimeout", "2"),
                                        ("OnTempError", "tempfail")],
                    nameservers=fault_dns.spec)
    rejected(send(m, "servfail-dmarc.example", ip=BAD_IP), "451", "4.4.3")


# ------------------------------------------------------------- record shapes

def test_txt_in_many_strings_joined(fm):
    """RFC 7208 3.3 / RFC 9989: character-strings are concatenated"""
    r = results(accepted_ar(send(fm, "split.example")))
    assert r["spf"] == ["pass"] and r["dmarc"] == ["pass"], r
    rejected(send(fm, "split.example", ip=BAD_IP))


def test_oversize_txt_record(fm):
    r = results(accepted_ar(send(fm, "big.example")))
    assert r["spf"] == ["pass"] and r["dmarc"] == ["pass"], r


def test_txt_beyond_libspf2_is_permerror(fm):
    """libspf2 evaluates only 64 mechanisms and then says neutral, which
    is no RFC 7208 answer; authmilter says permerror, so DMARC fails on
    SPF (p=reject, no DKIM: reject)"""
    res = send(fm, "huge.example")
    rejected(res)
    s = fm.summary(res.qid)
    assert s["spf"] == "permerror", s["line"]


# ------------------------------------------------------------- SPF errors

@pytest.mark.parametrize("domain,why", [
    ("two-spf.example", "two SPF records (RFC 7208 4.5)"),
    ("loop.example", "include loop (RFC 7208 5.2, 4.6.4)"),
    ("chain0.example", "11 includes, over the 10-lookup limit (4.6.4)"),
    ("void.example", "three void lookups, over 2 (4.6.4)"),
])
def test_spf_permerror_then_dmarc_fail(fm, domain, why):
    """spf=permerror; SPF does not pass, no DKIM: DMARC fail, p=reject"""
    res = send(fm, domain)
    rejected(res)
    s = fm.summary(res.qid)
    assert s["spf"] == "permerror" and s["dmarc"] == "fail", (why, s["line"])


def test_two_void_lookups_allowed(fm):
    r = results(accepted_ar(send(fm, "two-void.example")))
    assert r["spf"] == ["pass"], r


# ------------------------------------------------------------- DKIM keys

@pytest.mark.parametrize("selector", ["badkey", "revoked"])
def test_dkim_key_unusable_permerror(fm, keys, selector):
    """RFC 6376 6.1.2 / 3.6.1: a key record that does not parse, or p=
    empty (revoked), is a permanent failure: dkim=permerror; with SPF
    from BAD_IP failing, DMARC fails and p=reject rejects"""
    msg = sign(make_msg(from_="user@dkimfault.example"), selector,
               "dkimfault.example", keys.rsa_key)
    res = send(fm, "dkimfault.example", ip=BAD_IP, msg=msg)
    rejected(res)
    s = fm.summary(res.qid)
    assert s["dkim"] == "permerror:dkimfault.example", s["line"]
    # and delivered with the same DKIM result when SPF passes
    res = send(fm, "dkimfault.example", msg=msg)
    r = results(accepted_ar(res))
    assert r["dkim"] == ["permerror"] and r["dmarc"] == ["pass"], r


def test_dkim_good_key_same_domain_passes(fm, keys):
    msg = sign(make_msg(from_="user@dkimfault.example"), "good",
               "dkimfault.example", keys.rsa_key)
    r = results(accepted_ar(send(fm, "dkimfault.example", ip=BAD_IP,
                                 msg=msg)))
    assert r["dkim"] == ["pass"] and r["dmarc"] == ["pass"], r


# ------------------------------------------------------------- DMARC record

def test_dmarc_record_with_junk_tags_still_enforced(fm):
    """RFC 9989 4.7: unknown tags and bad values of optional tags are
    ignored; p=reject applies"""
    res = send(fm, "junk.example", ip=BAD_IP)
    rejected(res)
    r = results(accepted_ar(send(fm, "junk.example")))
    assert r["dmarc"] == ["pass"], r
