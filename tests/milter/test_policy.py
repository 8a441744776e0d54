"""What the milter does with a DMARC result: reject, quarantine, accept;
exempt clients; odd From headers."""

import pytest

from conftest import (BAD_IP, GOOD_IP, IGNORED_IP, AUTHSERV_ID, accepted_ar,
                      ar_entries, assert_ar, make_msg, rejected, sign)


def failing_example_org(milter, **kw):
    """From example.org (p=reject), unsigned, SPF fails: DMARC fail"""
    kw.setdefault("mailfrom", "<user@example.org>")
    kw.setdefault("client_addr", BAD_IP)
    return milter.send(make_msg(from_="user@example.org"), **kw)


def test_reject_p_reject_fail(milter):
    res = failing_example_org(milter)
    text = rejected(res, "550", "5.7.26")
    assert text == "Rejected by DMARC policy for example.org"
    assert not res.ops, "no header edits on a rejected message: %r" % res.ops
    s = milter.summary(res.qid)
    assert s.get("dmarc") == "fail" and s.get("action") == "reject", s["line"]


def test_reject_string_expanded(milters):
    m = milters.get("rejectstring",
                    [("RejectString", "Go away, %{domain} says no (100%%)")])
    res = failing_example_org(m)
    text = rejected(res, "550", "5.7.26")
    assert text == "Go away, example.org says no (100%)"


def test_quarantine_held_with_hold_yes(milters):
    m = milters.get("hold", [("HoldQuarantinedMessages", "yes")])
    res = m.send(make_msg(from_="user@example.biz"),
                 mailfrom="<user@example.biz>")
    assert res.quarantine, "expected a quarantine ('q') action: %r" % res
    assert "example.biz" in res.quarantine
    assert res.action in ("continue", "accept") and res.reply is None, res
    # the A-R is still added
    ar = [op for op in res.ops if op.kind == "insert"]
    assert len(ar) == 1 and ar[0].index == 0
    assert_ar(ar[0].value, [("spf", "fail", {"smtp.mailfrom":
                                             "user@example.biz"}),
                            ("dkim", "none", {}),
                            ("dmarc", "fail", {"header.from": "example.biz"})])


def test_quarantine_default_header_only(milter):
    res = milter.send(make_msg(from_="user@example.biz"),
                      mailfrom="<user@example.biz>")
    ar = accepted_ar(res)       # asserts no quarantine
    assert_ar(ar, [("spf", "fail", {"smtp.mailfrom": "user@example.biz"}),
                   ("dkim", "none", {}),
                   ("dmarc", "fail", {"header.from": "example.biz"})])


@pytest.mark.parametrize("froms", [
    ["user@example.org", "user@example.net"],
    ["user@example.net", "user@example.org"],
], ids=["passing-first", "failing-first"])
def test_two_from_headers_strictest_wins(milter, froms):
    # example.org passes by SPF (client allowed, MAIL FROM example.org);
    # example.net (p=reject) has nothing aligned
    res = milter.send(make_msg(from_headers=froms),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP)
    rejected(res, "550", "5.7.26")
    s = milter.summary(res.qid)
    assert s.get("dmarc") != "pass" and s.get("action") == "reject", s["line"]


@pytest.mark.parametrize("value", [
    "user@example.org, user@example.net",
    "user@example.net, user@example.org",
    "A <user@example.org>, B <user@example.net>",
], ids=["passing-first", "failing-first", "display-names"])
def test_from_with_two_addresses_strictest_wins(milter, value):
    res = milter.send(make_msg(from_=value),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP)
    rejected(res, "550", "5.7.26")
    s = milter.summary(res.qid)
    assert s.get("dmarc") != "pass" and s.get("action") == "reject", s["line"]


def test_no_from_is_permerror(milter):
    """no From: dmarc=permerror, rejected by OnMissingFrom (default
    reject; tests/milter/test_from_policy.py has the other actions)"""
    res = milter.send(make_msg(from_headers=[]),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP)
    rejected(res, "550", "5.7.1")
    s = milter.summary(res.qid)
    assert s["dmarc"] == "permerror", s["line"]


def assert_exempt(ar):
    h, got = ar_entries(ar)
    assert h.authserv_id == AUTHSERV_ID
    # "authserv-id; none (...)": no method results at all
    assert got == [], "exempt client got method results: %s" % ar
    assert ar.split(";", 1)[1].strip().startswith("none"), ar


def test_ignore_hosts_client_accepted(milters):
    m = milters.get("ignore", [("IgnoreHosts", IGNORED_IP)])
    res = failing_example_org(m, client_addr=IGNORED_IP)
    assert_exempt(accepted_ar(res))
    # the same message from another client is rejected by that daemon
    res = failing_example_org(m, client_addr=BAD_IP)
    rejected(res)


def test_authenticated_client_not_rejected(milter):
    res = failing_example_org(milter, auth_authen="alice")
    assert_exempt(accepted_ar(res))


def test_reject_failures_no(milters):
    m = milters.get("noreject", [("RejectFailures", "no")])
    res = failing_example_org(m)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "fail", {"smtp.mailfrom": "user@example.org"}),
                   ("dkim", "none", {}),
                   ("dmarc", "fail", {"header.from": "example.org"})])


def test_dkim_pass_from_bad_client_not_rejected(milter, keys):
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=BAD_IP)
    accepted_ar(res)
