"""Sendmail in front of authmilter, end to end (see sendmail.py): aligned
pass with the A-R at the top, p=reject 550, forged A-R removed.

Needs the unpacked Sendmail (AUTHMILTER_SENDMAIL_ROOT, set by run) and
the client addresses on lo (run starts pytest in a network namespace);
without either every test here fails with the reason."""

import os
import re
import socket

import pytest

from milter_harness import (AUTHSERV_ID, BAD_IP, GOOD_IP, assert_ar,
                            make_msg, sign)
from postfix import headers_of

SPF_PASS = ("spf", "pass", {"smtp.mailfrom": "user@example.org"})
DKIM_PASS = ("dkim", "pass", {"header.d": "example.org", "header.s": "rsa"})
DMARC_PASS = ("dmarc", "pass", {"header.from": "example.org"})


def _bindable(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="module")
def sendmail(authmilter_bin, nsd, workdir):
    from conftest import Authmilter, free_port
    from sendmail import Sendmail
    # a Sendmail that cannot run here is a failure, not a skip
    root = os.environ.get("AUTHMILTER_SENDMAIL_ROOT", "")
    if not os.path.isfile(os.path.join(root, "usr/libexec/sendmail/sendmail")):
        pytest.fail("no unpacked Sendmail (AUTHMILTER_SENDMAIL_ROOT=%r; "
                    "tests/integration/run fetches it with apt-get download)"
                    % root)
    if not (_bindable(GOOD_IP) and _bindable(BAD_IP)):
        why = os.environ.get("AUTHMILTER_NO_NETNS") or (
            "run these tests through tests/integration/run, which uses a "
            "network namespace")
        pytest.fail("%s and %s are not local addresses (%s)"
                    % (GOOD_IP, BAD_IP, why))
    m = Authmilter(authmilter_bin, workdir, "sm-default",
                   "127.0.0.1@%d" % nsd.port, []).start()
    sm = None
    try:
        sm = Sendmail(root, free_port(), m.port).start()
        sm.milter = m
        yield sm
    finally:
        if sm is not None:
            sm.stop()
        m.terminate()
        rc = m.wait(10)
        if rc is None:
            m.kill()
        if sm is not None:
            sm.cleanup()
        assert rc == 0, "authmilter exit %r:\n%s" % (rc, m.log()[-2000:])


def ar_on_top(raw):
    """our one A-R is the first header of the message Sendmail queued
    (above its Received:); only the local mailer's Return-Path:, added at
    delivery, is above it"""
    hs = headers_of(raw)
    names = [n.lower() for n, _ in hs]
    assert names[0] == "return-path", hs[:3]
    assert names[1] == "authentication-results", hs[:3]
    assert hs[1][1].strip().lower().startswith(AUTHSERV_ID), hs[1]
    assert names[2] == "received", hs[:3]
    assert re.search(rb"^Authentication-Results: " + AUTHSERV_ID.encode() +
                     rb";", raw, re.M), raw[:300]
    return hs[1][1]


def test_sendmail_pass(sendmail, keys):
    msg = sign(make_msg(to="root@example.net", msgid="sm-pass"), "rsa",
               "example.org", keys.rsa_key)
    code, text = sendmail.send(msg, "user@example.org", source=GOOD_IP)
    assert code == 250, (code, text, sendmail.log()[-2000:])
    raw = sendmail.delivered("<sm-pass@example.org>")
    assert raw is not None, sendmail.log()[-3000:]
    value = ar_on_top(raw)
    assert_ar(value, [SPF_PASS, DKIM_PASS, DMARC_PASS,
                      ("spf", "pass", {"smtp.helo": "mail.example.org"})],
              ignore_helo=False)


def test_sendmail_reject(sendmail):
    msg = make_msg(to="root@example.net", msgid="sm-reject")
    code, text = sendmail.send(msg, "user@example.org", source=BAD_IP,
                               helo="mail.example.com")
    assert code == 550, (code, text)
    assert text.startswith("5.7.26 "), text
    assert "Rejected by DMARC policy for example.org" in text, text
    assert sendmail.delivered("<sm-reject@example.org>", timeout=1.5) is None


def test_sendmail_forged_ar(sendmail):
    forged = [
        ("Authentication-Results",
         AUTHSERV_ID + "; dkim=pass header.d=evil.example"),
        ("authentication-results",
         "  " + AUTHSERV_ID.upper() + " ;spf=pass smtp.mailfrom=evil.example"),
        ("AUTHENTICATION-RESULTS",
         "\r\n\t" + AUTHSERV_ID + ";\r\n\tdmarc=pass header.from=example.org"),
        ("Authentication-Results",
         "(a comment) " + AUTHSERV_ID + "; dkim=pass header.d=evil.example"),
    ]
    foreign = ("Authentication-Results",
               "other.example; spf=pass smtp.mailfrom=user@example.org")
    msg = make_msg(to="root@example.net", msgid="sm-forged",
                   headers=forged + [foreign])
    code, text = sendmail.send(msg, "user@example.org", source=GOOD_IP)
    assert code == 250, (code, text)
    raw = sendmail.delivered("<sm-forged@example.org>")
    assert raw is not None, sendmail.log()[-3000:]
    value = ar_on_top(raw)
    assert_ar(value, [SPF_PASS, ("dkim", "none", {}), DMARC_PASS])
    ars = [v for n, v in headers_of(raw)
           if n.lower() == "authentication-results"]
    assert len(ars) == 2 and ars[1].strip().startswith("other.example;"), ars
    assert b"evil.example" not in raw


def test_sendmail_milter_down_tempfail(sendmail):
    """a second Sendmail whose filter (F=T) does not listen: the client
    is told to try later, nothing is delivered"""
    from conftest import free_port
    from sendmail import Sendmail
    down = Sendmail(sendmail.root, free_port(), free_port()).start()
    try:
        msg = make_msg(to="root@example.net", msgid="sm-down")
        code, text = down.send(msg, "user@example.org", source=GOOD_IP)
        assert code == 451, (code, text)
        assert text.startswith("4.3.2 "), text
        assert down.delivered("<sm-down@example.org>", timeout=1.5) is None
    finally:
        down.stop()
        down.cleanup()


@pytest.mark.parametrize("line", [b"Subject:\tafter a tab",
                                  b"Subject:no-space",
                                  b"Subject: \tspace then tab"],
                         ids=["tab", "no-space", "space-tab"])
def test_sendmail_header_space_simple(sendmail, keys, line):
    """issue 15, defect 8: Sendmail 8.14+ speaks milter protocol 6 and
    offers SMFIP_HDR_LEADSPC, which authmilter takes: every form after the
    colon arrives as written, so a c=simple signature over it verifies
    (SPF fails: DMARC rests on it)"""
    n = re.sub(rb"[^a-z]", b"", line[8:]).decode()
    msg = (b"From: user@example.org\r\nTo: root@example.net\r\n" + line +
           b"\r\nDate: Tue, 24 Nov 2026 12:00:00 +0000\r\n"
           b"Message-ID: <sm-leadspc-" + n.encode() + b"@example.org>\r\n"
           b"\r\nBody\r\n")
    msg = sign(msg, "rsa", "example.org", keys.rsa_key, hcanon="simple",
               bcanon="simple", include_headers=["from", "to", "subject",
                                                 "date", "message-id"])
    code, text = sendmail.send(msg, "user@example.org", source=BAD_IP,
                               helo="mail.example.com")
    assert code == 250, (code, text, sendmail.log()[-2000:])
    raw = sendmail.delivered("<sm-leadspc-%s@example.org>" % n)
    assert raw is not None, sendmail.log()[-3000:]
    assert_ar(ar_on_top(raw), [
        ("spf", "fail", {"smtp.mailfrom": "user@example.org"}),
        DKIM_PASS, DMARC_PASS])
