"""DKIM (RFC 6376, RFC 8463) through the milter, messages signed by dkimpy.

From and MAIL FROM are example.org and the client is allowed by its SPF
record, so DMARC passes by SPF whatever DKIM says: these tests look at the
dkim= entries."""

import re

import pytest

from conftest import (GOOD_IP, accepted_ar, assert_ar, make_msg, sign)

SPF_PASS = ("spf", "pass", {"smtp.mailfrom": "user@example.org"})
DMARC_PASS = ("dmarc", "pass", {"header.from": "example.org"})


def bprefix(signed, index=0):
    """the first 8 characters of the index-th DKIM-Signature's b= value"""
    sigs = re.findall(rb"^DKIM-Signature:(.*?)(?=^\S)", signed,
                      re.M | re.S | re.I)
    b = re.search(rb"\bb=([^;]*)", sigs[index]).group(1)
    return re.sub(rb"\s+", b"", b).decode()[:8]


def send(milter, msg, **kw):
    kw.setdefault("mailfrom", "<user@example.org>")
    kw.setdefault("client_addr", GOOD_IP)
    return milter.send(msg, **kw)


@pytest.mark.parametrize("hcanon,bcanon", [
    ("relaxed", "relaxed"), ("simple", "simple"),
    ("relaxed", "simple"), ("simple", "relaxed")])
def test_dkim_rsa_sha256_pass(milter, keys, hcanon, bcanon):
    msg = sign(make_msg(), "rsa", "example.org", keys.rsa_key,
               hcanon=hcanon, bcanon=bcanon)
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "pass", {"header.d": "example.org",
                                     "header.s": "rsa",
                                     "header.a": "rsa-sha256",
                                     "header.b": bprefix(msg)})])


def test_dkim_ed25519_pass(milter, keys):
    msg = sign(make_msg(), "ed", "example.org", keys.ed_key,
               signalg="ed25519-sha256")
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "pass", {"header.d": "example.org",
                                     "header.s": "ed",
                                     "header.a": "ed25519-sha256",
                                     "header.b": bprefix(msg)})])


def test_dkim_body_modified_fails(milter, keys):
    msg = sign(make_msg(), "rsa", "example.org", keys.rsa_key)
    msg = msg.replace(b"this is a test message", b"this is a TEST message")
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "fail", {"header.d": "example.org",
                                     "header.s": "rsa"})])


def test_dkim_signed_header_modified_fails(milter, keys):
    msg = sign(make_msg(subject="original"), "rsa", "example.org",
               keys.rsa_key)
    msg = msg.replace(b"Subject: original", b"Subject: changed")
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "fail", {"header.d": "example.org"})])


def test_dkim_unsigned_is_none(milter):
    ar = accepted_ar(send(milter, make_msg()))
    assert_ar(ar, [SPF_PASS, DMARC_PASS, ("dkim", "none", {})])


def test_dkim_two_signatures_one_failing(milter, keys):
    msg = sign(make_msg(), "rsa", "example.org", keys.rsa_key)
    # selector "bad" publishes rsa's public key; sign with another key
    msg = sign(msg, "bad", "example.org", keys.rsa_other_key)
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "fail", {"header.d": "example.org",
                                     "header.s": "bad"}),
                   ("dkim", "pass", {"header.d": "example.org",
                                     "header.s": "rsa"})])


def test_dkim_512_bit_key_fails(milter, keys):
    msg = sign(make_msg(), "short", "example.org", keys.short_key)
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "fail", {"header.d": "example.org",
                                     "header.s": "short"})])


def test_dkim_simple_canon_unusual_whitespace(milter, keys):
    """c=simple/simple over headers whose whitespace matters: the filter
    must get the values exactly (it negotiates SMFIP_HDR_LEADSPC)"""
    raw = (b"From: user@example.org\r\n"
           b"To: rcpt@example.net\r\n"
           b"Subject:  two  spaces\r\n"
           b"X-Folded: first part\r\n"
           b"\t second part\r\n"
           b"   third part\r\n"
           b"X-Tight:no-space\r\n"
           b"Date: Tue, 24 Nov 2026 12:00:00 +0000\r\n"
           b"Message-ID: <simple@example.org>\r\n"
           b"\r\n"
           b"Body  with   spaces  \r\n"
           b"\r\n")
    msg = sign(raw, "rsa", "example.org", keys.rsa_key, hcanon="simple",
               bcanon="simple",
               include_headers=["from", "to", "subject", "x-folded",
                                "x-tight", "date", "message-id"])
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "pass", {"header.d": "example.org",
                                     "header.s": "rsa"})])


def test_dkim_large_body_pass(milter, keys):
    """a body of ~300 KB goes in several milter chunks"""
    body = "".join("line %06d of a long body, with some text to fill it\r\n"
                   % i for i in range(5500))
    msg = sign(make_msg(body=body), "rsa", "example.org", keys.rsa_key)
    ar = accepted_ar(send(milter, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "pass", {"header.d": "example.org"})])


def test_dkim_512_bit_key_allowed_by_config(milters, keys):
    m = milters.get("minkey512", [("MinimumKeyBits", "512")])
    msg = sign(make_msg(), "short", "example.org", keys.short_key)
    ar = accepted_ar(send(m, msg))
    assert_ar(ar, [SPF_PASS, DMARC_PASS,
                   ("dkim", "pass", {"header.d": "example.org",
                                     "header.s": "short"})])
