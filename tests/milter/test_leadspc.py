"""Header whitespace after the colon, per milter protocol version (issue 15,
defect 8).

What the MTA sends (read in their sources, checked against Debian's
Postfix by tests/integration/test_postfix.py):
  - Postfix (src/milter/milter8.c): milter_protocol 6 offers
    SMFIP_HDR_LEADSPC, 2, 3 and 4 do not.  Without it milter8_header drops
    one space (never a tab) right after the colon; with it the value is
    sent as it follows the colon.  Whitespace between the name and the
    colon is never sent (is_header() ends the name there).
  - sendmail 8.14+ (sendmail/milter.c) always speaks version 6 and offers
    HDR_LEADSPC; without it milter_headers drops one leading space too
    (tests/integration/test_sendmail.py checks the version 6 path).
authmilter takes HDR_LEADSPC whenever offered.  Without it, it puts a
space back unless the value starts with a tab (rfc5322.h
am_rfc5322_lost_space): "Name:<tab>x", "Name: x" and "Name:  x" come out
right; "Name:x" and "Name: <tab>x" cannot be told from "Name: x" and
"Name:<tab>x" and are lost: a c=simple signature over them fails.

The messages are From example.org (p=reject) and come from BAD_IP, which
example.org's SPF does not allow: DMARC passes by the c=simple DKIM
signature alone, so a header rebuilt wrongly is a rejected legitimate
message."""

import pytest

import milterclient as mc
from conftest import BAD_IP, accepted_ar, assert_ar, rejected, sign

SPF_FAIL = ("spf", "fail", {"smtp.mailfrom": "user@example.org"})
DKIM_PASS = ("dkim", "pass", {"header.d": "example.org", "header.s": "rsa"})
DMARC_PASS = ("dmarc", "pass", {"header.from": "example.org"})

# what Postfix offers for each milter_protocol (milter8.c MILTER8_V*_MASK)
V2 = (mc.SMFIP_NOCONNECT | mc.SMFIP_NOHELO | mc.SMFIP_NOMAIL |
      mc.SMFIP_NORCPT | mc.SMFIP_NOBODY | mc.SMFIP_NOHDRS | mc.SMFIP_NOEOH)
V3 = V2 | mc.SMFIP_NOUNKNOWN
V4 = V3 | mc.SMFIP_NODATA
V6 = mc.SMFIP_ALL
OFFERS = {2: V2, 3: V3, 4: V4}

_n = iter(range(1000000))


def message(subject_line):
    """a message whose Subject line is given raw (b"Subject:...")"""
    return (b"From: user@example.org\r\n"
            b"To: rcpt@example.net\r\n" + subject_line + b"\r\n"
            b"Date: Tue, 24 Nov 2026 12:00:00 +0000\r\n"
            b"Message-ID: <leadspc-%d@example.org>\r\n"
            b"\r\n"
            b"Hello,\r\n\r\nwhitespace matters.\r\n" % next(_n))


def send_simple(milter, keys, subject_line, version, offer):
    """sign with c=simple/simple over From, To, Subject, Date, Message-ID
    and send it as an MTA of that version and offer would"""
    msg = sign(message(subject_line), "rsa", "example.org", keys.rsa_key,
               hcanon="simple", bcanon="simple",
               include_headers=["from", "to", "subject", "date",
                                "message-id"])
    return milter.send(msg, mailfrom="<user@example.org>",
                       client_addr=BAD_IP, helo="mail.example.com",
                       version=version, offer_protocol=offer)


def assert_pass(res):
    assert_ar(accepted_ar(res), [SPF_FAIL, DKIM_PASS, DMARC_PASS])


# forms an MTA without HDR_LEADSPC leaves recoverable
RECOVERABLE = [
    b"Subject:\tafter a tab",
    b"Subject: one space",
    b"Subject:  two spaces",
    b"Subject:\t\ttwo tabs",
    b"Subject: \r\n\tfolded right after the colon",
    b"Subject: ",
]
# forms it cannot recover: the space it dropped may or may not have been
# there, and the usual form (one space, or a tab alone) is assumed
LOST = [
    b"Subject:no-space",
    b"Subject: \tspace then tab",
    b"Subject:",
]


@pytest.mark.parametrize("version", [2, 3, 4])
@pytest.mark.parametrize("line", RECOVERABLE,
                         ids=[repr(x) for x in RECOVERABLE])
def test_old_protocol_recoverable_forms_pass(milter, keys, version, line):
    """milter_protocol 2-4: the space the MTA dropped is put back right"""
    res = send_simple(milter, keys, line, version, OFFERS[version])
    assert not res.client.protocol & mc.SMFIP_HDR_LEADSPC
    assert res.client.version == version
    assert_pass(res)
    s = milter.summary(res.qid)
    assert s.get("leadspc") == "no", s["line"]


@pytest.mark.parametrize("version", [2, 4])
@pytest.mark.parametrize("line", LOST, ids=[repr(x) for x in LOST])
def test_old_protocol_lost_forms_fail(milter, keys, version, line):
    """the documented loss: dkim=fail, and with SPF failing too the
    p=reject domain's message is rejected (the fix is milter_protocol 6)"""
    res = send_simple(milter, keys, line, version, OFFERS[version])
    rejected(res)
    s = milter.summary(res.qid)
    assert s["dkim"] == "fail:example.org" and s["dmarc"] == "fail", \
        s["line"]


@pytest.mark.parametrize("line", RECOVERABLE + LOST,
                         ids=[repr(x) for x in RECOVERABLE + LOST])
def test_protocol6_leadspc_every_form_passes(milter, keys, line):
    """milter_protocol 6 (and sendmail): HDR_LEADSPC is negotiated and
    every form arrives exactly"""
    res = send_simple(milter, keys, line, 6, V6)
    assert res.client.protocol & mc.SMFIP_HDR_LEADSPC
    assert_pass(res)
    s = milter.summary(res.qid)
    assert "leadspc" not in s, s["line"]


def test_protocol6_without_leadspc_offered(milter, keys):
    """a version 6 MTA that does not offer HDR_LEADSPC is treated as the
    old versions: the tab form still passes"""
    res = send_simple(milter, keys, b"Subject:\tafter a tab", 6,
                      V6 & ~mc.SMFIP_HDR_LEADSPC)
    assert not res.client.protocol & mc.SMFIP_HDR_LEADSPC
    assert_pass(res)
