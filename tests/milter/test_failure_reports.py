"""FailureReports (RFC 9991, issue 13): DMARC failure reports from the
daemon, through a fake sendmail (FailureReportsCommand) that writes each
submission to a directory.  Real nsd with ruf=/fo= records and a
_report._dmarc authorization for one external address (none for another);
each report is parsed with Python's email package (an independent MIME
reader): multipart/report; report-type=feedback-report, the feedback
fields RFC 9991 makes mandatory, the headers part."""

import email
import email.policy
import os
import stat
import time
import urllib.request

import pytest

from conftest import (BAD_IP, GOOD_IP, NsdServer, accepted_ar, engine_only,
                      free_port, make_msg, rejected, wait_for, zone_records)

# the queue, the thread and the stop are the daemon's, not the engine's:
# the slow tests run under one engine (suite time)
DAEMON_ONLY = engine_only("builtin", "failure-report queue and stop are "
                          "the daemon's, the same under either engine")

SENDER = "dmarc-reports@mx.authmilter.example"
SPF = "v=spf1 ip4:192.0.2.10 -all"
RUF = ("mailto:dmarc-f@frep.example,"
       "mailto:ext@reports.thirdparty.example,"
       "mailto:noauth@evil.example")


def extra_records():
    r = []

    def txt(owner, text):
        r.append((owner, "TXT", '"%s"' % text))

    for d in ("frep.example", "pass1.example", "pass0.example",
              "rate.example", "psdy.example"):
        r.append((d, "A", "192.0.2.1"))
        txt(d, SPF)
    # fo=1, three destinations: same org, authorized external, not
    txt("_dmarc.frep.example", "v=DMARC1; p=reject; fo=1; ruf=" + RUF)
    txt("frep.example._report._dmarc.reports.thirdparty.example",
        "v=DMARC1")
    # DMARC passes on SPF alone: fo=1 reports (DKIM did not align), fo=0 not
    txt("_dmarc.pass1.example",
        "v=DMARC1; p=none; fo=1; ruf=mailto:f@pass1.example")
    txt("_dmarc.pass0.example",
        "v=DMARC1; p=none; fo=0; ruf=mailto:f@pass0.example")
    txt("_dmarc.rate.example",
        "v=DMARC1; p=quarantine; ruf=mailto:f@rate.example")
    # a PSD record (psd=y): its ruf MUST NOT be considered (RFC 9991 3)
    txt("_dmarc.psdy.example",
        "v=DMARC1; p=reject; psd=y; fo=1; ruf=mailto:f@psdy.example")
    r.append(("sub.psdy.example", "A", "192.0.2.1"))
    txt("sub.psdy.example", SPF)
    return r


@pytest.fixture(scope="module")
def frep_nsd(keys, tmp_path_factory):
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-frep")),
                       zone_records(keys) + extra_records())
    server.start()
    yield server
    server.stop()


def fake_sendmail(d):
    """a sendmail stand-in: each run writes its arguments and its stdin"""
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "sendmail")
    with open(path, "w") as f:
        f.write('#!/bin/sh\n'
                'f=$(mktemp "%s/msg.XXXXXX")\n'
                'printf "%%s\\n" "$@" > "$f.args"\n'
                # what the command inherited: blocked/ignored signals,
                # sockets (the daemon's must not leak into the MTA).  Read
                # with builtins only: dash blocks every signal around the
                # fork of a command, so a grep child could catch the
                # shell's own mask of that moment instead of the inherited
                # one (it did, once, in CI)
                'while IFS= read -r l; do case $l in Sig[BI][lg][kn]:*) '
                'echo "$l";; esac; done < /proc/$$/status > "$f.proc"\n'
                'echo "sockets: $(ls -l /proc/$$/fd | grep -c socket:)" '
                '>> "$f.proc"\n'
                'cat > "$f.tmp" && mv "$f.tmp" "$f.eml"\n' % d)
    os.chmod(path, stat.S_IRWXU)
    return path


def reports(d):
    """[(args, email.message.Message)] of every submission so far"""
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".eml"):
            continue
        base = os.path.join(d, name[:-4])
        with open(base + ".args") as f:
            args = f.read().splitlines()
        with open(base + ".eml", "rb") as f:
            msg = email.message_from_bytes(f.read(),
                                           policy=email.policy.compat32)
        out.append((args, msg))
    return out


def wait_reports(d, n, settle=0.3):
    """wait for n submissions, then a little longer for any extra one"""
    wait_for(lambda: len(reports(d)) >= n, 10, 0.05)
    wait_for(lambda: False, settle, 0.05)
    return reports(d)


def daemon(milters, nsd, tmp_path, name, extra=()):
    out = str(tmp_path / ("out-" + name))
    cmd = fake_sendmail(out)
    m = milters.new(name, [("FailureReports", "yes"),
                           ("FailureReportsCommand", cmd),
                           ("FailureReportsSentBy", SENDER)] + list(extra),
                    nameservers="127.0.0.1@%d" % nsd.port).start()
    return m, out


def feedback(msg):
    """check the AFRF structure; returns (feedback fields, third part)"""
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "feedback-report"
    parts = msg.get_payload()
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/feedback-report"
    fb = parts[1].get_payload()
    fb = fb[0] if isinstance(fb, list) else email.message_from_string(fb)
    assert fb["Feedback-Type"] == "auth-failure"
    assert fb["Version"] == "1"
    assert fb["User-Agent"].startswith("authmilter/")
    return fb, parts[2]


def test_failure_report_fo1_destinations(milters, frep_nsd, tmp_path):
    m, out = daemon(milters, frep_nsd, tmp_path, "frep")
    res = m.send(make_msg(from_="user@frep.example", subject="spoof 1"),
                 mailfrom="<user@frep.example>", client_addr=BAD_IP)
    rejected(res)
    got = wait_reports(out, 2)
    rcpts = sorted(args[-1] for args, _ in got)
    # the same-org and the authorized external address; never evil.example
    assert rcpts == ["dmarc-f@frep.example",
                     "ext@reports.thirdparty.example"], rcpts
    for args, msg in got:
        assert args == ["-oi", "-f", SENDER, args[-1]], args
        assert msg["From"] == SENDER and msg["To"] == args[-1]
        assert msg["Auto-Submitted"] == "auto-generated"
        fb, part = feedback(msg)
        assert fb["Auth-Failure"] == "dmarc"
        assert fb["Identity-Alignment"] == "dkim, spf"
        assert fb["Reported-Domain"] == "frep.example"
        assert fb["Source-IP"] == BAD_IP
        assert fb["Original-Mail-From"] == "<user@frep.example>"
        assert fb["Delivery-Result"] == "reject"
        assert email.utils.parsedate_tz(fb["Arrival-Date"]) is not None
        assert "dmarc=fail" in fb["Authentication-Results"]
        assert fb["SPF-DNS"] == "txt : frep.example : " + SPF
        # headers only (FailureReportsBody no)
        assert part.get_content_type() == "text/rfc822-headers"
        text = part.get_payload()
        assert "Subject: spoof 1" in text and "From: user@frep.example" in text
        assert "this is a test message" not in text
    # the command starts without the daemon's blocked or ignored signals
    # (HUP INT USR1 PIPE TERM) and without its sockets
    daemon_sigs = sum(1 << (n - 1) for n in (1, 2, 10, 13, 15))
    for name in os.listdir(out):
        if name.endswith(".proc"):
            with open(os.path.join(out, name)) as f:
                proc = dict(ln.split(":", 1) for ln in f.read().splitlines())
            for k in ("SigBlk", "SigIgn"):
                assert int(proc[k], 16) & daemon_sigs == 0, proc
            assert proc["sockets"].strip() == "0", proc
    log = m.log()
    assert "not sent to noauth@evil.example: destination not-authorized" \
        in log, log[-2000:]


def test_failure_report_fo_pass(milters, frep_nsd, tmp_path):
    """fo=1 reports a DMARC pass whose DKIM did not align; fo=0 does not;
    a psd=y record's ruf is never used"""
    m, out = daemon(milters, frep_nsd, tmp_path, "frep-fo")
    for dom in ("pass0.example", "pass1.example"):
        accepted_ar(m.send(make_msg(from_="user@" + dom),
                           mailfrom="<user@%s>" % dom, client_addr=GOOD_IP))
    res = m.send(make_msg(from_="user@sub.psdy.example"),
                 mailfrom="<user@sub.psdy.example>", client_addr=BAD_IP)
    assert m.summary(res.qid)["dmarc"] == "fail", m.summary(res.qid)
    got = wait_reports(out, 1)
    assert [args[-1] for args, _ in got] == ["f@pass1.example"], got
    fb, _ = feedback(got[0][1])
    assert fb["Identity-Alignment"] == "dkim"
    assert fb["Delivery-Result"] == "delivered"
    assert fb["SPF-DNS"] is None        # SPF aligned and passed


def test_failure_report_rate_limit_and_body(milters, frep_nsd, tmp_path):
    port = free_port()
    m, out = daemon(milters, frep_nsd, tmp_path, "frep-rate",
                    [("FailureReportsPerDomainPerHour", "2"),
                     ("FailureReportsBody", "yes"),
                     ("MetricsSocket", "inet:%d@127.0.0.1" % port)])
    for i in range(3):
        res = m.send(make_msg(from_="user@rate.example", subject="r%d" % i),
                     mailfrom="<user@rate.example>", client_addr=BAD_IP)
        assert "dmarc=fail" in accepted_ar(res)   # p=quarantine, not held
    got = wait_reports(out, 2)
    assert len(got) == 2, [a for a, _ in got]
    subjects = set()
    for _, msg in got:
        _, part = feedback(msg)
        assert part.get_content_type() == "message/rfc822"
        inner = part.get_payload()[0]
        subjects.add(inner["Subject"])
        assert "this is a test message" in inner.get_payload()
    assert subjects == {"r0", "r1"}, subjects
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        text = r.read().decode()
    for result, n in (("sent", 2), ("suppressed", 1), ("failed", 0),
                      ("dropped", 0)):
        line = 'authmilter_failure_reports_total{result="%s"} %d' % (result, n)
        assert line in text.splitlines(), (line, text)
    assert "authmilter_failure_report_queue 0" in text.splitlines()


@DAEMON_ONLY
def test_failure_reports_off(milters, frep_nsd, tmp_path):
    """FailureReports no (the default): nothing, whatever the record asks"""
    out = str(tmp_path / "out-off")
    cmd = fake_sendmail(out)
    m = milters.new("frep-off", [("FailureReportsCommand", cmd)],
                    nameservers="127.0.0.1@%d" % frep_nsd.port).start()
    res = m.send(make_msg(from_="user@frep.example"),
                 mailfrom="<user@frep.example>", client_addr=BAD_IP)
    rejected(res)
    m.summary(res.qid)
    # the daemons above submitted within 0.3 s of the verdict; wait 0.6 s
    wait_for(lambda: False, 0.6, 0.05)
    assert reports(out) == []
    assert "failure report" not in m.log()


@DAEMON_ONLY
def test_failure_reports_queue_full_and_stop(milters, frep_nsd, tmp_path):
    """a command that never finishes: with FailureReportsQueueSize 2, one
    report in flight and two queued, the next ones are dropped (counted,
    one log line); SIGTERM still ends the daemon in about
    AM_FREPORT_STOP_SECS (3 s): the submission under way is killed, the
    queued reports are abandoned and logged, the exit is clean"""
    d = str(tmp_path / "out-hang")
    os.makedirs(d)
    cmd = os.path.join(d, "sendmail")
    started = os.path.join(d, "started")
    with open(cmd, "w") as f:
        f.write("#!/bin/sh\ntouch %s\nexec sleep 60\n" % started)
    os.chmod(cmd, stat.S_IRWXU)
    port = free_port()
    m = milters.new("frep-stop", [("FailureReports", "yes"),
                                  ("FailureReportsCommand", cmd),
                                  ("FailureReportsQueueSize", "2"),
                                  ("MetricsSocket",
                                   "inet:%d@127.0.0.1" % port)],
                    nameservers="127.0.0.1@%d" % frep_nsd.port).start()
    for i in range(5):
        res = m.send(make_msg(from_="user@rate.example", subject="s%d" % i),
                     mailfrom="<user@rate.example>", client_addr=BAD_IP)
        accepted_ar(res)        # the verdict is the same, queue or not
        if i == 0:              # the first one is with the command now
            assert wait_for(lambda: os.path.exists(started), 10)
    m.summary(res.qid)
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        text = r.read().decode().splitlines()
    assert 'authmilter_failure_reports_total{result="dropped"} 2' in text
    assert "authmilter_failure_report_queue 2" in text
    log = m.log()
    assert log.count("dropped (queue full)") == 1, log[-2000:]
    t0 = time.monotonic()
    m.terminate()
    rc = m.wait(15)
    took = time.monotonic() - t0
    log = m.log()
    assert rc == 0, (rc, log[-2000:])
    assert took < 7, took
    assert "failure reports: 2 abandoned at stop" in log, log[-2000:]
    assert "failed: timed out" in log, log[-2000:]
