"""ARC (issue 14): a mailing list that adds a footer and re-seals, in front
of example.org's p=reject, through the real daemon and nsd.  Chains are
built by python3-dkim's arc_sign (an independent implementation); the A-R
is read with python3-authres.

Domains (conftest.zone_records plus the records of this module):
  example.org        p=reject, DKIM key rsa (the author)
  lists.example      the list: ARC key arc (keys.rsa), SPF allows LIST_IP
  evil.example       an attacker's own ARC key arc (keys.rsa_other)
"""

import dkim
import pytest

from conftest import (AUTHSERV_ID, NsdServer, accepted_ar, ar_entries,
                      make_msg, rejected, sign, txt_rdata, zone_records)

LIST_IP = "203.0.113.5"
LIST = dict(mailfrom="<list-bounces@lists.example>", client_addr=LIST_IP,
            helo="lists.example")
TRUST = [("ARCTrustedSealers", "lists.example, other.example")]


@pytest.fixture(scope="module")
def arc_nsd(keys, tmp_path_factory):
    extra = [
        ("lists.example", "TXT", txt_rdata("v=spf1 ip4:%s -all" % LIST_IP)),
        ("arc._domainkey.lists.example", "TXT", txt_rdata(keys.rsa_txt)),
        ("arc._domainkey.evil.example", "TXT",
         txt_rdata(keys.rsa_other_txt)),
    ]
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-arc")),
                       zone_records(keys) + extra)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain(milters, arc_nsd):
    return milters.get("arc-plain",
                       nameservers="127.0.0.1@%d" % arc_nsd.port)


@pytest.fixture(scope="module")
def trusting(milters, arc_nsd):
    return milters.get("arc-trust", overrides=TRUST,
                       nameservers="127.0.0.1@%d" % arc_nsd.port)


def seal(msg, domain, keyfile, ar, srv_id=None):
    """one ARC set by python3-dkim: the sealer's A-R (ar, under authserv-id
    srv_id, default domain) becomes the AAR (python3-dkim joins every A-R
    of that id: a second hop needs an id of its own); returns the message
    with the set (and that A-R) on top"""
    srv_id = srv_id or domain
    msg = ("Authentication-Results: %s;\r\n %s\r\n" % (srv_id, ar)).encode() \
        + msg
    with open(keyfile, "rb") as f:
        key = f.read()
    lines = dkim.arc_sign(msg, b"arc", domain.encode(), key, srv_id.encode(),
                          include_headers=[b"from", b"to", b"subject",
                                           b"date", b"message-id"],
                          timestamp=1764000000)
    assert len(lines) == 3, lines
    out = b"".join(x.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                   for x in lines)
    return out + msg


def author_message(keys):
    """example.org's message, DKIM-signed by example.org"""
    return sign(make_msg(from_="alice@example.org", subject="hello"),
                "rsa", "example.org", keys.rsa_key)


def listed(msg):
    """what the list does: a Subject tag would break DKIM too; a footer does"""
    return msg + b"-- \r\nlist footer: unsubscribe at lists.example\r\n"


AUTHOR_PASS = ("spf=pass smtp.mailfrom=alice@example.org;\r\n "
               "dkim=pass header.d=example.org header.s=rsa;\r\n "
               "dmarc=pass header.from=example.org")


def list_sealed(keys, sealer="lists.example", keyfile=None):
    return seal(listed(author_message(keys)), sealer,
                keyfile or keys.rsa_key, AUTHOR_PASS)


def results(value):
    """{method: (result, props)} of our A-R, parsed by python3-authres"""
    h, got = ar_entries(value)
    assert h.authserv_id == AUTHSERV_ID
    return {g[0]: (g[1], g[2]) for g in got}


def test_list_rejected_without_trust(plain, keys):
    """the chain passes, DMARC fails, nobody trusts the list: p=reject"""
    res = plain.send(list_sealed(keys), **LIST)
    rejected(res)
    s = plain.summary(res.qid)
    assert s["arc"] == "pass" and s["dmarc"] == "fail", s["line"]
    assert "dmarc.override" not in s, s["line"]


def test_list_accepted_with_trusted_sealer(trusting, keys):
    """the same message with lists.example trusted: delivered, dmarc=fail
    stays in the header with override=trusted_forwarder, arc=pass, and
    the log names the sealer"""
    res = trusting.send(list_sealed(keys), **LIST)
    ar = accepted_ar(res)
    r = results(ar)
    assert r["arc"][0] == "pass", ar
    assert r["dmarc"][0] == "fail", ar
    assert r["dmarc"][1].get("header.from") == "example.org", ar
    assert "override=trusted_forwarder" in ar and "dis=none" in ar, ar
    s = trusting.summary(res.qid)
    assert s["dmarc.override"] == "trusted_forwarder", s["line"]
    assert s["dmarc.override_policy"] == "none", s["line"]
    assert s["dmarc.override_by"] == "sealer lists.example i=1", s["line"]


def test_newest_seal_untrusted_not_honoured(trusting, keys):
    """lists.example (trusted) seals, then evil.example (untrusted, a
    valid seal with its own key) re-seals: the chain passes, no override"""
    msg = seal(list_sealed(keys), "evil.example", keys.rsa_other_key,
               "arc=pass; dmarc=pass header.from=example.org")
    assert b"ARC-Seal: i=2" in msg or b"i=2;" in msg
    res = trusting.send(msg, **LIST)
    rejected(res)
    s = trusting.summary(res.qid)
    assert s["arc"] == "pass", s["line"]
    assert "dmarc.override" not in s, s["line"]


def test_forged_chain_never_overrides(trusting, keys):
    """an attacker claims to be lists.example (AAR: dmarc=pass) but can
    only seal with its own key: arc=fail, rejected"""
    msg = list_sealed(keys, keyfile=keys.rsa_other_key)
    res = trusting.send(msg, **LIST)
    rejected(res)
    s = trusting.summary(res.qid)
    assert s["arc"] == "fail", s["line"]
    assert "signature did not verify" in s["arc.reason"], s["line"]
    assert "dmarc.override" not in s, s["line"]


def test_chain_edited_after_seal_fails(trusting, keys):
    """a body edit after the list sealed breaks the newest AMS: arc=fail
    with the reason in the A-R, rejected"""
    msg = list_sealed(keys) + b"appended after the seal\r\n"
    res = trusting.send(msg, **LIST)
    rejected(res)
    s = trusting.summary(res.qid)
    assert s["arc"] == "fail" and "body hash" in s["arc.reason"], s["line"]


def test_two_trusted_hops_remote_ip(trusting, keys):
    """two hops of the trusted list (the second saw no aligned pass): the
    override walks down to hop 1, whose AAR has the aligned pass; our A-R
    has hop 1's smtp.remote-ip"""
    first = seal(listed(author_message(keys)), "lists.example", keys.rsa_key,
                 AUTHOR_PASS + ";\r\n iprev=pass smtp.remote-ip=192.0.2.10")
    msg = seal(first, "lists.example", keys.rsa_key,
               "arc=pass; dkim=fail header.d=example.org",
               srv_id="mx2.lists.example")
    res = trusting.send(msg, **LIST)
    ar = accepted_ar(res)
    r = results(ar)
    assert r["arc"][0] == "pass", ar
    assert r["arc"][1].get("smtp.remote-ip") == "192.0.2.10", ar
    s = trusting.summary(res.qid)
    assert s["dmarc.override_by"] == "sealer lists.example i=1", s["line"]


def test_no_arc_none_entry(plain):
    """mail without ARC fields: arc=none in our A-R (RFC 8617 10.1) and in
    the log"""
    res = plain.send(make_msg(from_="alice@example.org"),
                     mailfrom="<alice@example.org>", client_addr="192.0.2.10",
                     helo="mail.example.org")
    ar = accepted_ar(res)
    assert results(ar)["arc"] == ("none", {}), ar
    assert plain.summary(res.qid)["arc"] == "none"


def test_oldest_pass_after_footer(trusting, keys):
    """hop 1 seals, the body changes, hop 2 seals: the chain passes (each
    seal covers the sets below it), hop 1's AMS no longer verifies, so
    header.oldest-pass=2 (RFC 8617 5.2 step 7)"""
    first = seal(author_message(keys), "lists.example", keys.rsa_key,
                 AUTHOR_PASS)
    msg = seal(listed(first), "lists.example", keys.rsa_key,
               "arc=pass; dmarc=fail header.from=example.org",
               srv_id="mx2.lists.example")
    res = trusting.send(msg, **LIST)
    ar = accepted_ar(res)
    r = results(ar)
    assert r["arc"][0] == "pass", ar
    assert r["arc"][1].get("header.oldest-pass") == "2", ar
