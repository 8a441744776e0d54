"""A local resource failure in the resolver (issue 15, defect 1): out of
file descriptors is an internal error (OnInternalError, 451 4.3.0 by
default), never a DNS temperror that OnTempError accept would deliver, and
never the end of the process.

A fault test, no mock: the daemon runs against the real test nsd; once it
is up, `prlimit --pid PID --nofile=N:N` lowers its descriptor limit to the
lowest free descriptor number, so every socket libunbound (or anything
else in the daemon) opens from then on fails with EMFILE.  The milter
connection of the test is opened and negotiated before the limit is
lowered (the daemon's accept() needs a descriptor too).

The spoof: From and MAIL FROM user@example.org (p=reject) sent from
BAD_IP, which example.org's SPF record does not list, so with working
DNS it is rejected 550 5.7.26; its records are not cached yet when the
limit is lowered.
"""

import os
import subprocess
import time

from conftest import (BAD_IP, GOOD_IP, accepted_ar, ar_entries, make_msg,
                      rejected, sign)
from milterclient import MilterClient, transaction

PRLIMIT = "/usr/bin/prlimit"
SPOOF_FROM = "user@example.org"


def open_fds(pid):
    return sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % pid))


def lowest_free_fd(pid):
    fds = set(open_fds(pid))
    n = 0
    while n in fds:
        n += 1
    return n


def nofile(pid):
    """(soft, hard) RLIMIT_NOFILE of pid, from /proc/PID/limits"""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                parts = line.split()
                return int(parts[3]), int(parts[4])
    raise AssertionError("no Max open files in /proc/%d/limits" % pid)


def set_nofile(pid, soft, hard):
    subprocess.run([PRLIMIT, "--pid", str(pid),
                    "--nofile=%d:%d" % (soft, hard)], check=True)
    assert nofile(pid) == (soft, hard)


def send_with_no_fds(m, qid, msg, mailfrom, client):
    """open a milter connection, then take the daemon's free descriptors
    away (limit = lowest free one), then send msg on it"""
    pid = m.proc.pid
    with MilterClient(m.spec, timeout=60) as c:
        c.optneg()
        # the worker owns the connection now: a quiet moment to measure
        time.sleep(0.2)
        limit = lowest_free_fd(pid)
        saved = nofile(pid)
        set_nofile(pid, limit, saved[1])
        try:
            res = c.connect("mail.example.org", "4", 40000, client)
            if res is None:
                res = c.helo("mail.example.org")
            if res is None:
                res = transaction(c, msg, mailfrom=mailfrom, queue_id=qid)
            c.quit()
        finally:
            if m.proc.poll() is None:
                set_nofile(pid, *saved)
    res.qid = qid
    return res


def spoof_with_no_fds(m, qid):
    return send_with_no_fds(m, qid, make_msg(from_=SPOOF_FROM),
                            "<%s>" % SPOOF_FROM, BAD_IP)


def local_failure_reply(m, res):
    """the spoof got OnInternalError's reply, and the log says why"""
    assert m.proc.poll() is None, \
        "authmilter exited with %s:\n%s" % (m.proc.returncode,
                                             m.log()[-2000:])
    rejected(res, "451", "4.3.0")
    s = m.summary(res.qid)
    assert s.get("action") == "tempfail", s["line"]
    assert s.get("error") == "resource", s["line"]
    assert "local resource failure" in s["reason"], s["line"]
    assert "Too many open files" in s["reason"], s["line"]


def still_serves(m, qid):
    """with the limit back up: libunbound answers the questions that failed
    from its cache (a SERVFAIL kept 5 s), which dns_local.c still counts as
    local for AM_DNS_LOCAL_HOLD_MS (6 s); after that the next spoof is
    rejected as usual"""
    res = m.send(make_msg(from_=SPOOF_FROM), mailfrom="<%s>" % SPOOF_FROM,
                 client_addr=BAD_IP, queue_id=qid + "A", timeout=60)
    rejected(res, "451", "4.3.0")
    s = m.summary(qid + "A")
    assert "within 6 s of a failure" in s["reason"], s["line"]
    time.sleep(7)
    res = m.send(make_msg(from_=SPOOF_FROM), mailfrom="<%s>" % SPOOF_FROM,
                 client_addr=BAD_IP, queue_id=qid + "B", timeout=60)
    rejected(res, "550", "5.7.26")
    s = m.summary(qid + "B")
    assert s.get("dmarc") == "fail" and s.get("action") == "reject", \
        s["line"]


def test_out_of_fds_warm_is_internal_error(milters):
    """warm: the resolver has answered before; new sockets fail"""
    m = milters.new("localfail-warm")
    m.start()
    # a first message (another domain) so libunbound's thread is running
    res = m.send(make_msg(from_="user@example.com"),
                 mailfrom="<user@example.com>", helo="mail.example.com",
                 client_addr=BAD_IP)
    _, got = ar_entries(accepted_ar(res))
    assert [g[1] for g in got if g[0] == "dmarc"] == ["pass"], got
    res = spoof_with_no_fds(m, "LOCALW0001")
    local_failure_reply(m, res)
    still_serves(m, "LOCALW0002")


def test_out_of_fds_cold_is_internal_error(milters):
    """cold: no message has been checked yet when the fds run out"""
    m = milters.new("localfail-cold")
    m.start()
    res = spoof_with_no_fds(m, "LOCALC0001")
    local_failure_reply(m, res)
    still_serves(m, "LOCALC0002")


def test_out_of_fds_dkim_key_path(milters, keys):
    """only the DKIM key look-up is not cached: its local failure alone
    (dns_dkim.c's hooks) makes the internal error; before, dkim=temperror
    and the message went through on SPF-aligned DMARC pass"""
    m = milters.new("localfail-dkim")
    m.start()
    # caches SPF of mail.example.org and example.org, _dmarc.example.org
    res = m.send(make_msg(from_=SPOOF_FROM), mailfrom="<%s>" % SPOOF_FROM,
                 client_addr=GOOD_IP)
    _, got = ar_entries(accepted_ar(res))
    assert [g[1] for g in got if g[0] == "dmarc"] == ["pass"], got
    msg = sign(make_msg(from_=SPOOF_FROM), "rsa", "example.org",
               keys.rsa_key)
    res = send_with_no_fds(m, "LOCALK0001", msg, "<%s>" % SPOOF_FROM,
                           GOOD_IP)
    local_failure_reply(m, res)


def test_out_of_fds_dmarc_path(milters):
    """SPF answered from the cache, only _dmarc.example.org not: the
    DMARC record fetch's local failure alone makes the internal error;
    before, dmarc=temperror and the spoof was delivered"""
    m = milters.new("localfail-dmarc")
    m.start()
    # caches SPF of mail.example.org and example.org (fail for BAD_IP)
    res = m.send(make_msg(from_="user@example.com"),
                 mailfrom="<%s>" % SPOOF_FROM, client_addr=BAD_IP)
    accepted_ar(res)
    res = spoof_with_no_fds(m, "LOCALD0001")
    local_failure_reply(m, res)
    s = m.summary("LOCALD0001")
    assert s.get("spf") == "fail", s["line"]
