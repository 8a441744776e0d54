"""DMARC (RFC 9989 tree walk, RFC 7489 tags): alignment and policy choice.

Records (conftest.zone_records):
  _dmarc.example.org  v=DMARC1; p=reject
  _dmarc.example.com  v=DMARC1; p=none; sp=reject; np=quarantine
  _dmarc.example.net  v=DMARC1; p=reject; adkim=s; aspf=s
  _dmarc.example.biz  v=DMARC1; p=quarantine
  example.info        no record
"""

from conftest import (BAD_IP, GOOD_IP, accepted_ar, assert_ar, dmarc_comment,
                      make_msg, rejected, sign)


def test_dmarc_pass_by_aligned_spf_only(milter):
    res = milter.send(make_msg(from_="user@example.org"),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
                   ("dkim", "none", {}),
                   ("dmarc", "pass", {"header.from": "example.org"})])


def test_dmarc_pass_by_aligned_dkim_only(milter, keys):
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=BAD_IP)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "fail", {"smtp.mailfrom": "user@example.org"}),
                   ("dkim", "pass", {"header.d": "example.org"}),
                   ("dmarc", "pass", {"header.from": "example.org"})])
    assert (dmarc_comment(ar) or "").startswith("p=reject"), ar


def test_dmarc_relaxed_dkim_alignment_subdomain_signer(milter, keys):
    # From example.com, d=sub.example.com, adkim defaults to relaxed
    msg = sign(make_msg(from_="user@example.com"), "rsa", "sub.example.com",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<bounce@pass.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom":
                                    "bounce@pass.example.info"}),
                   ("dkim", "pass", {"header.d": "sub.example.com"}),
                   ("dmarc", "pass", {"header.from": "example.com"})])


def test_dmarc_strict_alignment_fails_and_rejects(milter, keys):
    # From example.net (adkim=s aspf=s): d=sub.example.net and MAIL FROM
    # sub.example.net both pass but are aligned only in relaxed mode
    msg = sign(make_msg(from_="user@example.net"), "rsa", "sub.example.net",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@sub.example.net>")
    text = rejected(res)
    assert "example.net" in text
    s = milter.summary(res.qid)
    assert s.get("dmarc") == "fail" and s.get("action") == "reject", s["line"]


def test_dmarc_strict_alignment_exact_domain_passes(milter, keys):
    msg = sign(make_msg(from_="user@example.net"), "rsa", "example.net",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@sub.example.net>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom": "user@sub.example.net"}),
                   ("dkim", "pass", {"header.d": "example.net"}),
                   ("dmarc", "pass", {"header.from": "example.net"})])


def test_dmarc_subdomain_policy_sp_applied(milter):
    # sub.example.com exists; example.com has p=none but sp=reject
    res = milter.send(make_msg(from_="user@sub.example.com"),
                      mailfrom="<bounce@pass.example.info>")
    text = rejected(res)
    assert "sub.example.com" in text
    s = milter.summary(res.qid)
    assert s.get("dmarc") == "fail", s["line"]


def test_dmarc_nonexistent_subdomain_np_applied(milter):
    # nonexistent.example.com is NXDOMAIN: np=quarantine, not sp=reject;
    # with HoldQuarantinedMessages at its default (no): delivered, marked
    res = milter.send(make_msg(from_="user@nonexistent.example.com"),
                      mailfrom="<bounce@pass.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom":
                                    "bounce@pass.example.info"}),
                   ("dkim", "none", {}),
                   ("dmarc", "fail",
                    {"header.from": "nonexistent.example.com"})])


def test_dmarc_nonexistent_subdomain_np_quarantine_held(milters):
    m = milters.get("hold", [("HoldQuarantinedMessages", "yes")])
    res = m.send(make_msg(from_="user@nonexistent.example.com"),
                 mailfrom="<bounce@pass.example.info>")
    assert res.quarantine, "np=quarantine not held: %r" % res
    assert res.action in ("continue", "accept"), res


def test_dmarc_tree_walk_org_domain_several_labels_up(milter, keys):
    # record only at example.com; d=example.com aligns (relaxed) with
    # a.b.c.example.com once the walk has found the org domain
    msg = sign(make_msg(from_="user@a.b.c.example.com"), "rsa", "example.com",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<bounce@pass.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom":
                                    "bounce@pass.example.info"}),
                   ("dkim", "pass", {"header.d": "example.com"}),
                   ("dmarc", "pass", {"header.from": "a.b.c.example.com"})])


def test_dmarc_tree_walk_policy_several_labels_up(milter):
    # unsigned, SPF not aligned: the walk finds example.com's record and
    # its sp=reject applies to the existing a.b.c.example.com
    res = milter.send(make_msg(from_="user@a.b.c.example.com"),
                      mailfrom="<bounce@pass.example.info>")
    text = rejected(res)
    assert "a.b.c.example.com" in text


def test_dmarc_no_record_is_none(milter):
    res = milter.send(make_msg(from_="user@example.info"),
                      mailfrom="<user@fail.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "fail", {"smtp.mailfrom": "user@fail.example.info"}),
                   ("dkim", "none", {}),
                   ("dmarc", "none", {"header.from": "example.info"})])


def test_dmarc_p_none_fail_accepted(milter):
    # example.com SPF allows only 198.51.100.0/24; the client is 192.0.2.10
    res = milter.send(make_msg(from_="user@example.com"),
                      mailfrom="<user@example.com>", client_addr=GOOD_IP)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "fail", {"smtp.mailfrom": "user@example.com"}),
                   ("dkim", "none", {}),
                   ("dmarc", "fail", {"header.from": "example.com"})])
    assert (dmarc_comment(ar) or "").startswith("p=none"), ar


PSL = "/usr/share/publicsuffix/public_suffix_list.dat"


def test_dmarc_pct_rfc7489_mode_samples(milters):
    """RFC 7489 6.6.4: with PublicSuffixList set, pct=0 puts every message
    outside the sample (p=reject applied as quarantine, header only);
    pct=100 rejects.  The sample is drawn once the DMARC result is known."""
    m = milters.get("psl", [("PublicSuffixList", PSL)])
    res = m.send(make_msg(from_="user@pct0.example"),
                 mailfrom="<bounce@pass.example.info>")
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom":
                                    "bounce@pass.example.info"}),
                   ("dkim", "none", {}),
                   ("dmarc", "fail", {"header.from": "pct0.example"})])
    assert "outside pct" in m.summary(res.qid)["line"]
    res = m.send(make_msg(from_="user@pct100.example"),
                 mailfrom="<bounce@pass.example.info>")
    assert "pct100.example" in rejected(res)


def test_dmarc_pct_50_draws_per_message(milters):
    """pct=50: each message gets its own sample, so 24 messages see both
    outcomes (all alike by chance: 2 in 2^24)"""
    m = milters.get("psl", [("PublicSuffixList", PSL)])
    outcomes = set()
    for _ in range(24):
        res = m.send(make_msg(from_="user@pct50.example"),
                     mailfrom="<bounce@pass.example.info>")
        outcomes.add(res.action)
    assert outcomes == {"replycode", "continue"} or \
        outcomes == {"replycode", "accept"}, outcomes


def test_dmarc_pct_ignored_in_rfc9989_mode(milter):
    """RFC 9989 dropped pct=: pct=0 does not soften p=reject"""
    res = milter.send(make_msg(from_="user@pct0.example"),
                      mailfrom="<bounce@pass.example.info>")
    assert "pct0.example" in rejected(res)
