"""Stopping: SIGTERM and SIGINT stop accepting connections, let a message
in flight finish (bounded), and exit 0 (am_engine_run: milter/server/
engine.c, lmengine.c).  SIGHUP reloads (test_daemon_signals.py)."""

import signal
import socket
import time

import pytest

from conftest import GOOD_IP, accepted_ar, make_msg, sign, wait_for
from milterclient import MilterClient, split_message


def start_message(m, qid):
    """a connection with MAIL, RCPT and every header sent: in flight"""
    c = MilterClient(m.spec, timeout=30)
    c.optneg()
    assert c.connect("mail.example.org", "4", 40000, GOOD_IP,
                     macros={"j": "mx.authmilter.example"}) is None
    assert c.helo("mail.example.org") is None
    assert c.mail("<user@example.org>", macros={"i": qid}) is None
    assert c.rcpt("<rcpt@example.net>") is None
    return c


def refuses(spec_port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", spec_port))
        return False
    except OSError:
        return True
    finally:
        s.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_message_in_flight_finishes(milters, keys, sig):
    m = milters.new("inflight-%d" % sig).start()
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    try:
        c = start_message(m, "INFLIGHT1")
        headers, _ = split_message(msg)
        for name, value in headers[:2]:
            assert c.header(name, value) is None
        time.sleep(0.2)         # MAIL is not answered (SMFIP_NR_MAIL)
        m.proc.send_signal(sig)
        # the listener closes (libmilter polls it about every 5 s)
        assert wait_for(lambda: refuses(m.port), 10), \
            "still accepting connections after the stop signal"
        assert m.proc.poll() is None, "exited with a message in flight"
        for name, value in headers[2:]:
            assert c.header(name, value) is None
        assert c.eoh(macros={"i": "INFLIGHT1"}) is None
        assert c.body(split_message(msg)[1]) is None
        res = c.eom(macros={"i": "INFLIGHT1"})
        res.headers_sent = headers
        c.quit()
        c.close()
        value = accepted_ar(res)
        assert "dkim=pass" in value and "dmarc=pass" in value, value
        rc = m.wait(15)
        assert rc == 0, "exit status %s:\n%s" % (rc, m.log()[-2000:])
        assert "stopping (signal)" in m.log()
    finally:
        m.kill()


def test_stop_waits_bounded(milters):
    """a connection that never finishes does not keep the daemon: it exits
    after the drain time (10 s) with a warning"""
    m = milters.new("stuck").start()
    try:
        c = start_message(m, "STUCK1")
        assert c.header("From", "user@example.org") is None
        t0 = time.monotonic()
        m.proc.send_signal(signal.SIGTERM)
        rc = m.wait(30)
        took = time.monotonic() - t0
        assert rc == 0, "exit status %s:\n%s" % (rc, m.log()[-2000:])
        assert took < 25, took
        assert "messages in progress" in m.log()
        c.close()
    finally:
        m.kill()
