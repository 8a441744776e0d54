"""OnMalformedFrom and OnMissingFrom (issue 15, policy gap): a From header
authmilter cannot read, or none at all, gives dmarc=permerror and then the
configured action: reject (the default, 550 5.7.1), quarantine (hold) or
accept.

The attacker's setup of test_spoofing.py: MAIL FROM in example.com from
BAD_IP (SPF pass there), the From naming example.org (p=reject) in a form
the parser refuses, so that DMARC has no author domain to fail."""

import pytest

from conftest import (BAD_IP, IGNORED_IP, ar_entries, inserted_ar,
                      make_msg, rejected)

SPOOF = dict(mailfrom="<attacker@example.com>", client_addr=BAD_IP,
             helo="mail.example.com")

MALFORMED = [
    "user@example.org;",
    "<user@example.org> junk",
    "user@@example.org",
    "user@example.org <other@example.org>",
    "=?utf-8?b?dXNlckBleGFtcGxlLm9yZw==?=",
    "undisclosed-recipients:;",
]
MISSING = None          # no From field at all

FORMS = MALFORMED + [MISSING]
IDS = ["malformed:" + f for f in MALFORMED] + ["missing"]

REJECT_TEXT = {
    False: "Message From header is not a valid address "
           "(RFC 5322 section 3.6.2)",
    True: "Message has no From header (RFC 5322 section 3.6)",
}


def daemon(milters, action):
    """the default daemon for reject (the default must be reject), a
    configured one for the other actions"""
    if action == "reject":
        return milters.get()
    return milters.get("from-" + action, [("OnMalformedFrom", action),
                                          ("OnMissingFrom", action)])


def send(m, form, **kw):
    msg = make_msg(from_headers=[] if form is MISSING else [form])
    args = dict(SPOOF)
    args.update(kw)
    return m.send(msg, **args)


def why(form, action):
    if form is MISSING:
        return "no From header, OnMissingFrom " + action
    return "unusable From header, OnMalformedFrom " + action


def dmarc_entry(ar):
    """(result, reason) of the one dmarc entry of an A-R value"""
    _, got = ar_entries(ar)
    d = [(g[1], g[3]) for g in got if g[0] == "dmarc"]
    assert len(d) == 1, ar
    return d[0]


def assert_log(m, res, form, action):
    s = m.summary(res.qid)
    assert s["dmarc"] == "permerror", s["line"]
    assert s["action"] == action, s["line"]
    assert s["reason"] == why(form, action), s["line"]


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_reject_is_the_default(milters, form):
    m = daemon(milters, "reject")
    res = send(m, form)
    text = rejected(res, "550", "5.7.1")
    assert text == REJECT_TEXT[form is MISSING], res.reply
    assert not res.ops, "a rejected message gets no header edits: %r" % res
    assert_log(m, res, form, "reject")


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_quarantine(milters, form):
    m = daemon(milters, "quarantine")
    res = send(m, form)
    assert res.step == "eom" and res.reply is None, res
    assert res.quarantine == ("no From header" if form is MISSING
                              else "unusable From header"), res
    result, reason = dmarc_entry(inserted_ar(res))
    assert result == "permerror", reason
    assert reason.startswith("no From header" if form is MISSING
                             else "unusable From header"), reason
    assert_log(m, res, form, "quarantine")


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_accept(milters, form):
    m = daemon(milters, "accept")
    res = send(m, form)
    assert res.step == "eom" and res.reply is None, res
    assert res.quarantine is None, res
    assert res.action in ("continue", "accept"), res
    result, reason = dmarc_entry(inserted_ar(res))
    assert result == "permerror", reason
    assert_log(m, res, form, "accept")


def test_another_from_failing_p_reject_still_rejected(milters):
    """a readable From of example.org fails p=reject: that rejection
    (5.7.26) stands even when the malformed one only asks for quarantine"""
    m = daemon(milters, "quarantine")
    res = m.send(make_msg(from_headers=["ceo@example.org",
                                        "user@@example.org"]), **SPOOF)
    rejected(res, "550", "5.7.26")
    s = m.summary(res.qid)
    assert s["dmarc"] == "fail" and s["reason"] == "dmarc fail, p=reject", \
        s["line"]


@pytest.mark.parametrize("form", [MALFORMED[0], MISSING],
                         ids=["malformed", "missing"])
def test_ignore_hosts_not_affected(milters, form):
    m = milters.get("from-ignore", [("IgnoreHosts", IGNORED_IP)])
    res = send(m, form, client_addr=IGNORED_IP)
    assert res.reply is None and res.quarantine is None, res
    assert "none (exempt" in inserted_ar(res)


@pytest.mark.parametrize("form", [MALFORMED[0], MISSING],
                         ids=["malformed", "missing"])
def test_authenticated_not_affected(milters, form):
    m = daemon(milters, "reject")
    res = send(m, form, auth_authen="user")
    assert res.reply is None and res.quarantine is None, res
    assert "none (exempt" in inserted_ar(res)
