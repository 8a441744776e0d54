"""The per-message DNS budget (session.h AM_DNS_*) against real time-outs:
name servers that never answer for some names (FaultDNS "drop").

SPF at MAIL: with DNSTimeout 15, the HELO check waits 15 s and the MAIL
FROM check gets only what is left of AM_DNS_SPF_SECS (20 s): the MAIL
stage ends after about 20 s (not 30 s, Postfix's command timeout), both
SPF results temperror, the log says dns_budget=time.

DMARC at EOM: sixteen From domains whose look-ups are answered after 4.5 s
each (under DNSTimeout 5, which libunbound stretches by retrying)
take more than AM_DNS_DMARC_SECS (60 s) together: the
evaluation is cut at 60 s and the message gets OnInternalError (default: 451), not a
temperror that OnTempError=accept would deliver.

Both run at once (two daemons, two threads) so the tier waits ~60 s."""

import threading
import time

import pytest

from milter_harness import BAD_IP, GOOD_IP, make_msg, rejected

from faultdns import FaultDNS


@pytest.fixture(scope="module")
def drop_dns(nsd):
    proxy = FaultDNS(nsd.port, {"*.drop.example": "drop",
                                "drop.example": "drop",
                                "*.slow.example": ("slow", 4.5),
                                "slow.example": ("slow", 4.5)})
    yield proxy
    proxy.close()


def spf_budget(milters, drop_dns, out):
    m = milters.get("budget-spf", [("DNSTimeout", "15")],
                    nameservers=drop_dns.spec)
    t0 = time.monotonic()
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@b.drop.example>", client_addr=GOOD_IP,
                 helo="a.drop.example", timeout=120)
    out["spf"] = (res, time.monotonic() - t0, m.summary(res.qid, 5))


def dmarc_budget(milters, drop_dns, out):
    m = milters.get("budget-dmarc", [("DNSTimeout", "5")],
                    nameservers=drop_dns.spec)
    froms = ", ".join("u@d%d.slow.example" % i for i in range(16))
    t0 = time.monotonic()
    res = m.send(make_msg(from_=froms), mailfrom="<a@example.com>",
                 client_addr=BAD_IP, helo="mail.example.com", timeout=200)
    out["dmarc"] = (res, time.monotonic() - t0, m.summary(res.qid, 5))


def test_dns_budget_spf_and_dmarc(milters, drop_dns):
    out = {}
    threads = [threading.Thread(target=f, args=(milters, drop_dns, out))
               for f in (spf_budget, dmarc_budget)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)

    res, took, s = out["spf"]
    assert 19 <= took < 28, "MAIL stage took %.1fs" % took
    assert s["spf_helo"] == "temperror" and s["spf"] == "temperror", s["line"]
    assert "dns_budget" in s and "time" in s["dns_budget"], s["line"]

    res, took, s = out["dmarc"]
    assert 59 <= took < 75, "EOM took %.1fs" % took
    rejected(res, "451", "4.3.0")
    assert s.get("error") == "resource", s["line"]
    assert "DNS budget exhausted" in s["line"], s["line"]
    assert s["action"] == "tempfail", s["line"]
