"""The per-message DNS budget (session.h AM_DNS_*) against real time-outs:
name servers that never answer for some names (FaultDNS "drop").

SPF from MAIL: with DNSTimeout 15, the HELO and MAIL FROM checks wait on
names that never answer.  Since issue 17 they overlap (the MAIL FROM
record is asked for while the HELO check runs), so the message is
answered after one time-out, about 15 s, inside AM_DNS_SPF_SECS (20 s),
with both SPF results temperror and the budget not exhausted.  (Before,
they ran one after the other: 15 s for HELO, then the budget cut MAIL
FROM at 20 s with dns_budget=time.  libunbound gives up on a name that
never answers after about 15 s whatever DNSTimeout says, and a time-out
ends an SPF check, so this tier cannot reach the SPF time cut any more;
check_spf and check_prefetch cover the budget itself.)

DMARC at EOM: sixteen From domains whose look-ups are answered after 4.5 s
each (under DNSTimeout 5, which libunbound stretches by retrying).  Until
issue 17 they ran one after the other at end of message, took more than
AM_DNS_DMARC_SECS (60 s) together, and the cut gave OnInternalError (451).
Now their look-ups are started in parallel when the From field arrives
(at most AM_DNS_PREFETCH_MSG_MAX, 16, which is AM_FROM_ADDRS_MAX): they
end within about 20 s, inside the budget, and the message gets what the
DNS says, dmarc=temperror, so OnTempError (default accept) decides.

Both run at once (two daemons, two threads) so the tier waits ~20 s."""

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


@pytest.mark.xdist_group("wait")
def test_dns_budget_spf_and_dmarc(milters, drop_dns):
    out = {}
    threads = [threading.Thread(target=f, args=(milters, drop_dns, out))
               for f in (spf_budget, dmarc_budget)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)

    res, took, s = out["spf"]
    assert 13 <= took < 19, "SPF took %.1fs: %s" % (took, s["line"])
    assert s["spf_helo"] == "temperror" and s["spf"] == "temperror", s["line"]
    assert "dns_budget" not in s, s["line"]

    res, took, s = out["dmarc"]
    assert took < 45, "EOM took %.1fs: %s" % (took, s["line"])
    assert s["dmarc"] == "temperror", s["line"]
    assert "error" not in s and "dns_budget" not in s, s["line"]
    assert s["action"] == "accept", s["line"]
    assert res.action in ("continue", "accept") and res.reply is None, res
