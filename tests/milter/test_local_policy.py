"""Local policy (issue 14) with the real daemon and the test nsd: for each
key, a message that is rejected without it, the same message exempted by
exactly that key (the A-R's dmarc comment says override=..., the summary
line says which rule), and a forged variant the key must not let through.

Daemons: "lp-base" has none of the keys (MailingListAction reject turns the
list rule off); "lp-all" has TrustedDKIMDomains, TrustedSenders,
RejectSPFFail and the default MailingListAction, each naming different
domains, so a message can match one rule only; "lp-dp" has a DomainPolicy
file (its rules would shadow the others for example.org).  Both hold quarantined messages, so a
quarantine shows as the MTA's quarantine action.

Zone (conftest.zone_records): example.org p=reject, SPF allows GOOD_IP;
example.com SPF allows BAD_IP's /24; example.net has the rsa key;
example.info has no DMARC record, fail./softfail.example.info SPF -all/~all.
"""

import re
import subprocess

import pytest

from conftest import (BAD_IP, GOOD_IP, accepted_ar, ar_entries,
                      dmarc_comment, make_msg, rejected, sign)

HOLD = ("HoldQuarantinedMessages", "yes")


@pytest.fixture(scope="module")
def base(milters):
    return milters.get("lp-base", [HOLD, ("MailingListAction", "reject")])


@pytest.fixture(scope="module")
def lp(milters):
    return milters.get("lp-all", [
        HOLD,
        ("TrustedDKIMDomains", "example.net"),
        ("TrustedSenders", "bounce@example.com"),
        ("RejectSPFFail", "yes")])


@pytest.fixture(scope="module")
def dp(milters, tmp_path_factory):
    d = tmp_path_factory.mktemp("domainpolicy")
    path = d / "domain-policy"
    path.write_text("# per From domain\n"
                    "example.org   dryrun   # watch first\n"
                    "example.biz   none\n")
    return milters.get("lp-dp", [HOLD, ("DomainPolicy", str(path))])


def dmarc_entry(ar):
    _, got = ar_entries(ar)
    found = [g for g in got if g[0] == "dmarc"]
    assert len(found) == 1, ar
    return found[0]


def overridden(m, res, reason, by):
    """delivered, dmarc=fail kept in the A-R with override=reason, and
    the summary line naming the rule"""
    ar = accepted_ar(res)
    assert dmarc_entry(ar)[1] == "fail", ar
    comment = dmarc_comment(ar)
    assert comment.endswith("override=%s" % reason), comment
    s = m.summary(res.qid)
    assert s["dmarc"] == "fail"
    assert s["dmarc.override"] == reason, s["line"]
    assert s["dmarc.override_by"].startswith(by), s["line"]
    return ar, s


def not_overridden(m, res):
    rejected(res)
    assert "dmarc.override" not in m.summary(res.qid)


# ------------------------------------------------------ TrustedDKIMDomains

def trusted_dkim_msg(keys, broken=False):
    """From example.org (p=reject) via a host SPF does not allow, signed by
    example.net (passes, not aligned); broken: the body changed after"""
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.net",
               keys.rsa_key)
    if broken:
        msg += b"appended after signing\r\n"
    return msg


def send_td(m, msg):
    return m.send(msg, mailfrom="<user@example.org>", client_addr=BAD_IP)


def test_trusted_dkim_domain_exempts(base, lp, keys):
    msg = trusted_dkim_msg(keys)
    not_overridden(base, send_td(base, msg))
    ar, _ = overridden(lp, send_td(lp, msg), "local_policy",
                       "TrustedDKIMDomains example.net")
    assert "dis=none" in dmarc_comment(ar)


def test_trusted_dkim_domain_broken_signature_not_honoured(lp, keys):
    not_overridden(lp, send_td(lp, trusted_dkim_msg(keys, broken=True)))


# ------------------------------------------------------ TrustedSenders

def send_ts(m, ip):
    return m.send(make_msg(from_="user@example.org"),
                  mailfrom="<bounce@example.com>", client_addr=ip)


def test_trusted_sender_exempts(base, lp):
    # example.com's SPF allows BAD_IP: spf pass, not aligned with example.org
    not_overridden(base, send_ts(base, BAD_IP))
    overridden(lp, send_ts(lp, BAD_IP), "local_policy",
               "TrustedSenders bounce@example.com")


def test_trusted_sender_forged_envelope_not_honoured(lp):
    # the same envelope from a host example.com's SPF does not allow
    res = send_ts(lp, GOOD_IP)
    not_overridden(lp, res)
    assert lp.summary(res.qid)["spf"] == "fail"


# ------------------------------------------------------ DomainPolicy

def send_dp(m, from_dom):
    return m.send(make_msg(from_="user@" + from_dom),
                  mailfrom="<user@%s>" % from_dom, client_addr=BAD_IP)


def test_domain_policy_dryrun(base, dp):
    not_overridden(base, send_dp(base, "example.org"))
    _, s = overridden(dp, send_dp(dp, "example.org"), "local_policy",
                      "DomainPolicy example.org dryrun")
    assert "would enforce p=reject" in s["dmarc.override_by"]
    assert s["dmarc.policy"] == "reject"        # what DMARC found, logged
    assert s["dmarc.override_policy"] == "none"


def test_domain_policy_none(base, dp):
    res = base.send(make_msg(from_="user@example.biz"),
                    mailfrom="<user@example.biz>", client_addr=BAD_IP)
    assert res.quarantine, res                  # p=quarantine, held
    overridden(dp, send_dp(dp, "example.biz"), "local_policy",
               "DomainPolicy example.biz none")


def test_domain_policy_other_domain_not_covered(dp):
    # a subdomain of a listed domain is not listed (exact match)
    not_overridden(dp, send_dp(dp, "sub.example.org"))


# ------------------------------------------------------ mailing lists

def list_msg(keys, signed=True):
    """From example.org through a list: List-Id added and a footer
    appended, which breaks example.org's signature; envelope of the list
    (example.com, SPF pass for BAD_IP, not aligned)"""
    msg = make_msg(from_="user@example.org")
    if signed:
        msg = sign(msg, "rsa", "example.org", keys.rsa_key)
    return (b"List-Id: Test list <test.lists.example.com>\r\n" + msg +
            b"-- \r\nlist footer\r\n")


def send_list(m, msg):
    return m.send(msg, mailfrom="<list-bounces@example.com>",
                  client_addr=BAD_IP)


def test_mailing_list_quarantined_not_rejected(base, lp, keys):
    msg = list_msg(keys)
    not_overridden(base, send_list(base, msg))
    res = send_list(lp, msg)        # MailingListAction default: quarantine
    assert res.step == "eom" and res.reply is None, res
    assert res.quarantine, "expected the list message held: %r" % res
    s = lp.summary(res.qid)
    assert s["dkim"] == "fail:example.org", s["line"]
    assert s["dmarc.override"] == "mailing_list", s["line"]
    assert s["dmarc.override_policy"] == "quarantine"
    assert s["dmarc.override_by"].startswith("MailingListAction")


def test_mailing_list_without_from_signature_rejected(lp, keys):
    # List-Id, but no signature of the From domain broke: none was there
    not_overridden(lp, send_list(lp, list_msg(keys, signed=False)))


# ------------------------------------------------------ RejectSPFFail

def send_spf(m, dom):
    return m.send(make_msg(from_="user@example.info"),
                  mailfrom="<user@%s>" % dom, client_addr=GOOD_IP)


def test_reject_spf_fail(base, lp):
    # example.info has no DMARC record; fail.example.info SPF -all
    res = send_spf(base, "fail.example.info")
    accepted_ar(res)
    res = send_spf(lp, "fail.example.info")
    text = rejected(res, "550", "5.7.23")
    assert "fail.example.info" in text, text
    s = lp.summary(res.qid)
    assert s["reason"] == "spf fail, no dmarc policy, RejectSPFFail"


def test_reject_spf_fail_softfail_accepted(lp):
    accepted_ar(send_spf(lp, "softfail.example.info"))


# ------------------------------------------------------ configuration

def test_domain_policy_file_error_names_both_lines(authmilter_bin, tmp_path):
    """a bad DomainPolicy line: the config's file:line, then the policy
    file's file:line; the milter does not start (-n: exit 78)"""
    (tmp_path / "dp").write_text("example.org reject\nexample.net sometimes\n")
    (tmp_path / "a.conf").write_text(
        "Socket inet:8895@127.0.0.1\nAuthservID mx.authmilter.example\n"
        "DomainPolicy ./dp\n")
    p = subprocess.run([authmilter_bin, "-n", "-c", "a.conf"],
                       cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 78, p
    out = p.stdout + p.stderr
    assert re.search(r"^a\.conf:3: DomainPolicy: \S*dp:2: expected "
                     r"\"domain reject\|quarantine\|none\|dryrun\"", out,
                     re.M), out
