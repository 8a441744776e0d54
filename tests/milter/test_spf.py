"""SPF (RFC 7208) through the milter: MAIL FROM results, HELO, null sender.

The From domain of these messages is example.info, which has no DMARC
record, so DMARC is none and every message is delivered with our A-R."""

import pytest

from conftest import (GOOD_IP, GOOD_IP6, accepted_ar, ar_entries, assert_ar,
                      make_msg)

FROM = "user@example.info"

SPF_CASES = [
    # id, mail from, client, family, expected result
    ("pass", "user@pass.example.info", GOOD_IP, "4", "pass"),
    ("pass-ipv6", "user@pass.example.info", GOOD_IP6, "6", "pass"),
    ("fail", "user@fail.example.info", GOOD_IP, "4", "fail"),
    ("softfail", "user@softfail.example.info", GOOD_IP, "4", "softfail"),
    ("neutral", "user@neutral.example.info", GOOD_IP, "4", "neutral"),
    ("none-no-spf-txt", "user@none.example.info", GOOD_IP, "4", "none"),
    ("none-nxdomain", "user@nx.example.info", GOOD_IP, "4", "none"),
    ("permerror-unknown-mechanism", "user@permerror.example.info", GOOD_IP,
     "4", "permerror"),
    ("permerror-bad-cidr", "user@permerror2.example.info", GOOD_IP, "4",
     "permerror"),
]


def expected(result, mailfrom):
    return [("spf", result, {"smtp.mailfrom": mailfrom}),
            ("dkim", "none", {}),
            ("dmarc", "none", {"header.from": "example.info"})]


@pytest.mark.parametrize("mailfrom,client,family,result",
                         [c[1:] for c in SPF_CASES],
                         ids=[c[0] for c in SPF_CASES])
def test_spf_mailfrom(milter, mailfrom, client, family, result):
    res = milter.send(make_msg(from_=FROM), mailfrom="<%s>" % mailfrom,
                      client_addr=client, family=family)
    ar = accepted_ar(res)
    assert_ar(ar, expected(result, mailfrom))


@pytest.mark.parametrize("mailfrom,result", [
    ("user@fail.example.info", "fail"),
    ("user@softfail.example.info", "softfail"),
    ("user@neutral.example.info", "neutral"),
    ("user@permerror.example.info", "permerror"),
])
def test_spf_nonpass_carries_reason(milter, mailfrom, result):
    """non-pass results carry reason="..." (the A-R format of the daemon)"""
    res = milter.send(make_msg(from_=FROM), mailfrom="<%s>" % mailfrom)
    ar = accepted_ar(res)
    _, got = ar_entries(ar)
    spf = [g for g in got if g[0] == "spf" and "smtp.mailfrom" in g[2]]
    assert len(spf) == 1 and spf[0][1] == result, ar
    assert spf[0][3], "no reason= on spf=%s: %s" % (result, ar)


def test_spf_helo_pass(milter):
    res = milter.send(make_msg(from_=FROM), helo="mail.example.org",
                      mailfrom="<user@pass.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.helo": "mail.example.org"})]
              + expected("pass", "user@pass.example.info"))


def test_spf_helo_fail_reported_separately(milter):
    # HELO name's record is "-all"; MAIL FROM still passes
    res = milter.send(make_msg(from_=FROM), helo="mail.example.info",
                      mailfrom="<user@pass.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "fail", {"smtp.helo": "mail.example.info"})]
              + expected("pass", "user@pass.example.info"))


def test_spf_null_sender_uses_helo(milter):
    res = milter.send(make_msg(from_=FROM), helo="mail.example.org",
                      mailfrom="<>")
    ar = accepted_ar(res)
    assert_ar(ar, expected("pass", "postmaster@mail.example.org"))


def test_spf_null_sender_helo_fail(milter):
    res = milter.send(make_msg(from_=FROM), helo="mail.example.info",
                      mailfrom="<>")
    ar = accepted_ar(res)
    assert_ar(ar, expected("fail", "postmaster@mail.example.info"))
