"""iprev (RFC 8601 section 3, issue 14) against a real nsd: the client's
PTR names, forward-confirmed, through the daemon's resolver.  A FaultDNS
proxy (faultdns.py) in front of nsd answers SERVFAIL for the names given
below, so DNS errors are temperror (not fail).  The A-R is read with
python3-authres (the IPv6 address must come quoted: ':' is no token
character), the summary line and the metric are checked too.

Other tests run their daemons with IPRev no (conftest.py); these turn it
on, as the default is.
"""

import urllib.request

import pytest

from conftest import (GOOD_IP, GOOD_IP6, IGNORED_IP, NsdServer, accepted_ar,
                      ar_entries, free_port, make_msg, zone_records)
from faultdns import FaultDNS

NOMATCH_IP = "198.51.100.20"    # PTR liar.example, whose A is elsewhere
NOPTR_IP = "198.51.100.21"      # no PTR record
SERVFAIL_IP = "198.51.100.22"   # PTR query answered SERVFAIL
FWDFAIL_IP = "198.51.100.23"    # PTR sf.example, whose A query SERVFAILs
MANY_IP = "198.51.100.24"       # 12 PTR names, none resolving back


def rev4(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def rev6(nibbles):
    return ".".join(reversed(nibbles)) + ".ip6.arpa"


def iprev_records():
    r = [(rev4(GOOD_IP), "PTR", "mail.example.org."),
         (rev4(NOMATCH_IP), "PTR", "liar.example."),
         ("liar.example", "A", "203.0.113.5"),
         (rev4(SERVFAIL_IP), "PTR", "never.example."),
         (rev4(FWDFAIL_IP), "PTR", "sf.example."),
         ("sf.example", "A", FWDFAIL_IP),
         ("mail6.example.org", "AAAA", GOOD_IP6)]
    # 2001:db8::10 as 32 nibbles
    nib = "20010db8" + "0" * 22 + "10"
    r.append((rev6(list(nib)), "PTR", "mail6.example.org."))
    for i in range(12):
        r.append((rev4(MANY_IP), "PTR", "n%d.many.example." % i))
        r.append(("n%d.many.example" % i, "A",
                  "203.0.113.%d" % (i + 1)))
    return r


FAULTS = {rev4(SERVFAIL_IP): "servfail", "sf.example": "servfail"}


@pytest.fixture(scope="module")
def iprev_dns(keys, tmp_path_factory):
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-iprev")),
                       zone_records(keys) + iprev_records())
    server.start()
    proxy = FaultDNS(server.port, FAULTS)
    yield proxy
    proxy.close()
    server.stop()


@pytest.fixture(scope="module")
def metrics_port():
    return free_port()


@pytest.fixture(scope="module")
def im(milters, iprev_dns, metrics_port):
    return milters.get("iprev", [("IPRev", "yes"),
                                 ("IgnoreHosts", "127.0.0.1, " + IGNORED_IP),
                                 ("MetricsSocket",
                                  "inet:%d@127.0.0.1" % metrics_port)],
                       nameservers=iprev_dns.spec)


def send(m, ip, family="4"):
    return m.send(make_msg(from_="user@example.info"),
                  mailfrom="<user@example.info>", client_addr=ip,
                  family=family, helo="mail.example.org")


def iprev_entry(value):
    """(result, {props}, reason) of the one iprev entry of an A-R"""
    _, got = ar_entries(value)
    found = [g for g in got if g[0] == "iprev"]
    assert len(found) == 1, "expected one iprev entry in %r" % value
    return found[0][1], found[0][2], found[0][3]


def test_iprev_pass(im):
    res = send(im, GOOD_IP)
    ar = accepted_ar(res)
    result, props, _ = iprev_entry(ar)
    assert result == "pass"
    assert props == {"policy.iprev": GOOD_IP}
    assert "iprev=pass policy.iprev=192.0.2.10 (mail.example.org)" in ar, ar
    s = im.summary(res.qid)
    assert s["iprev"] == "pass" and s["iprev.name"] == "mail.example.org"


def test_iprev_fail_ptr_without_matching_address(im):
    res = send(im, NOMATCH_IP)
    result, props, reason = iprev_entry(accepted_ar(res))
    assert result == "fail" and props == {"policy.iprev": NOMATCH_IP}
    assert reason == "liar.example does not resolve to %s" % NOMATCH_IP
    s = im.summary(res.qid)
    assert s["iprev"] == "fail" and "does not resolve" in s["iprev.reason"]


def test_iprev_fail_no_ptr(im):
    res = send(im, NOPTR_IP)
    result, _, reason = iprev_entry(accepted_ar(res))
    assert result == "fail"
    assert reason == "no PTR record for %s" % NOPTR_IP


def test_iprev_temperror_on_servfail(im, iprev_dns):
    res = send(im, SERVFAIL_IP)
    result, _, reason = iprev_entry(accepted_ar(res))
    assert result == "temperror", reason
    assert reason.startswith("PTR look-up for %s: " % SERVFAIL_IP), reason
    assert "SERVFAIL" in reason, reason
    assert im.summary(res.qid)["iprev"] == "temperror"


def test_iprev_temperror_on_forward_servfail(im):
    result, _, reason = iprev_entry(accepted_ar(send(im, FWDFAIL_IP)))
    assert result == "temperror", reason
    assert reason.startswith("look-up of sf.example: "), reason


def test_iprev_ipv6_quoted(im):
    res = send(im, GOOD_IP6, family="6")
    ar = accepted_ar(res)
    result, props, _ = iprev_entry(ar)     # python3-authres parsed it
    assert result == "pass" and props == {"policy.iprev": GOOD_IP6}
    assert 'policy.iprev="2001:db8::10" (mail6.example.org)' in ar, ar


def test_iprev_names_capped_at_ten(im, iprev_dns):
    """AM_IPREV_NAMES_MAX: of twelve PTR names (none resolving back) only
    ten are looked up forward; the result is fail"""
    before = len(iprev_dns.seen)
    result, _, reason = iprev_entry(accepted_ar(send(im, MANY_IP)))
    assert result == "fail", reason
    asked = {n for _, n, _ in iprev_dns.seen[before:]
             if n and n.endswith(".many.example")}
    assert len(asked) == 10, sorted(asked)


def test_exempt_client_not_looked_up(im, iprev_dns):
    before = len(iprev_dns.seen)
    res = send(im, IGNORED_IP)
    ar = accepted_ar(res)
    assert "iprev" not in ar, ar
    assert not any(n and n.endswith("in-addr.arpa")
                   and n.startswith("99.2.0.192")
                   for _, n, _ in iprev_dns.seen[before:])


def test_iprev_off(milters, iprev_dns):
    m = milters.get("iprev-off", [("IPRev", "no")],
                    nameservers=iprev_dns.spec)
    before = len(iprev_dns.seen)
    res = send(m, GOOD_IP)
    ar = accepted_ar(res)
    assert "iprev" not in ar, ar
    assert "iprev" not in m.summary(res.qid)
    assert not any(n and n.endswith(".in-addr.arpa")
                   for _, n, _ in iprev_dns.seen[before:])


def test_iprev_metric(im, metrics_port):
    send(im, GOOD_IP)
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port,
                                timeout=10) as r:
        text = r.read().decode()
    vals = {}
    for line in text.splitlines():
        if line.startswith("authmilter_iprev_results_total{"):
            name, v = line.rsplit(" ", 1)
            vals[name] = float(v)
    assert vals['authmilter_iprev_results_total{result="pass"}'] >= 1
    assert set(vals) == {'authmilter_iprev_results_total{result="%s"}' % r
                         for r in ("pass", "fail", "temperror", "permerror")}
