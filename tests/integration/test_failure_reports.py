"""DMARC failure reports (RFC 9991, issue 13) through the real Postfix.

An instance of its own: an "inbound" listener whose authmilter has
FailureReports yes and FailureReportsCommand a wrapper around Postfix's
own sendmail(1) (-C this instance).  A spoofed message from a p=reject
domain is rejected at SMTP; its failure report goes through pickup and
is delivered by virtual(8) into the test Maildir, where it is read with
Python's email package.  The report address is external
(example.net, the delivery domain) and authorized by a _report._dmarc
record; a second, unauthorized address gets nothing."""

import email
import email.policy
import os
import shutil
import stat

import pytest

from conftest import PROTO_ENGINES

from milter_harness import (BAD_IP, Authmilter, NsdServer, free_port,
                            make_msg, zone_records)
from postfix import DOMAIN, Postfix

SENDMAIL = shutil.which("sendmail") or "/usr/sbin/sendmail"
SENDER = "dmarc-reports@mx.example.net"


def extra_records():
    spf = "v=spf1 ip4:192.0.2.10 -all"
    return [
        ("frepi.example", "A", "192.0.2.1"),
        ("frepi.example", "TXT", '"%s"' % spf),
        ("_dmarc.frepi.example", "TXT",
         '"v=DMARC1; p=reject; ruf=mailto:dmarc-f@%s,'
         'mailto:nope@unauth.example"' % DOMAIN),
        ("frepi.example._report._dmarc.%s" % DOMAIN, "TXT", '"v=DMARC1"'),
    ]


@pytest.fixture(scope="module")
def fstack(authmilter_bin, keys, workdir, tmp_path_factory):
    ns = NsdServer(str(tmp_path_factory.mktemp("nsd-frepi")),
                   zone_records(keys) + extra_records()).start()
    d = tmp_path_factory.mktemp("pffrep")
    wrapper = str(d / "sendmail")
    m = Authmilter(authmilter_bin, workdir, "pf-frep",
                   "127.0.0.1@%d" % ns.port,
                   [("FailureReports", "yes"),
                    ("FailureReportsSentBy", SENDER),
                    ("FailureReportsCommand", wrapper)])
    pf = Postfix({"inbound": (free_port(), {
        "smtpd_milters": "inet:127.0.0.1:%d" % m.port})})
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec %s -C %s "$@"\n' % (SENDMAIL, pf.etc))
    os.chmod(wrapper, stat.S_IRWXU)
    started = False
    try:
        m.start()
        pf.start()
        started = True
        yield pf, m
    finally:
        if started:
            pf.stop()
        m.terminate()
        m.wait(10)
        pf.cleanup()
        ns.stop()


@pytest.mark.skipif("builtin" not in PROTO_ENGINES, reason="the report "
                    "path is the daemon's, the same under either engine "
                    "(suite time: run with the built-in engine only)")
def test_failure_report_delivered_through_postfix(fstack):
    pf, m = fstack
    msg = make_msg(from_="user@frepi.example", subject="spoofed",
                   msgid="frepi-1")
    code, text = pf.send("inbound", msg, "user@frepi.example", addr=BAD_IP)
    assert code == 550, (code, text)
    raw = pf.delivered("Reported-Domain: frepi.example", timeout=30)
    assert raw is not None, "no report delivered:\n%s\n%s" % (
        m.log()[-2000:], pf.log()[-2000:])
    rep = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert rep["Return-Path"] == "<%s>" % SENDER, rep["Return-Path"]
    assert rep["To"] == "dmarc-f@" + DOMAIN
    assert rep.get_content_type() == "multipart/report"
    assert rep.get_param("report-type") == "feedback-report"
    text_part, fb_part, hdr_part = rep.get_payload()
    fb = fb_part.get_payload()[0]
    assert fb["Feedback-Type"] == "auth-failure"
    assert fb["Auth-Failure"] == "dmarc"
    assert fb["Identity-Alignment"] == "dkim, spf"
    assert fb["Source-IP"] == BAD_IP
    assert fb["Original-Mail-From"] == "<user@frepi.example>"
    assert hdr_part.get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <frepi-1@example.org>" in hdr_part.get_payload()
    # the unauthorized address: refused, logged, never handed to Postfix
    assert "not sent to nope@unauth.example: destination not-authorized" \
        in m.log()
    assert "nope@unauth.example" not in pf.log()
