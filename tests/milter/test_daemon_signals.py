"""SIGHUP reloads as SIGUSR1 does (issue 16: admins and systemd's
habits treat HUP as reload; it used to stop the milter with exit 0), in
both engines.  With the libmilter engine this is also the proof that
libmilter's own signal thread (which stops the milter on SIGHUP, SIGTERM
and SIGINT: its signal.c) never takes a signal: milter/server/lmengine.c
parks it.  A storm of SIGHUP and SIGUSR1 while mail flows: every message
gets its verdict, the daemon keeps listening, the reloads take effect,
and SIGTERM still stops it cleanly."""

import os
import signal
import threading
import time

from conftest import (BAD_IP, GOOD_IP, ENGINE, accepted_ar, make_msg,
                      rejected, wait_for)
from test_daemon_reload import write_conf

OK = "reload: configuration"


def send_reject(m):
    return rejected(m.send(make_msg(from_="user@example.org"),
                           mailfrom="<user@example.org>",
                           client_addr=BAD_IP, timeout=20))


def test_sighup_reloads(milters):
    m = milters.new("hup", [("RejectString", "old for %{domain}")]).start()
    try:
        assert send_reject(m) == "old for example.org"
        write_conf(m, [("RejectString", "new for %{domain}")])
        m.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: m.log().count(OK) >= 1, 10), \
            "no reload after SIGHUP:\n%s" % m.log()[-2000:]
        assert "SIGHUP: reloading" in m.log()
        assert m.proc.poll() is None, "SIGHUP stopped the milter"
        assert send_reject(m) == "new for example.org"
        assert "stopping" not in m.log()
    finally:
        m.terminate()
        rc = m.wait(15)
        m.kill()
    assert rc == 0, "exit status %s after SIGTERM:\n%s" % (rc, m.log()[-2000:])


def test_signal_storm_while_mail_flows(milters):
    """SIGUSR1 and SIGHUP, 150 of each back to back (pending signals
    included), while four clients send mail"""
    m = milters.new("storm", [("RejectString", "old for %{domain}")]).start()
    stop = threading.Event()
    failures, counts = [], []

    def client(n):
        done = 0
        while not stop.is_set():
            try:
                if done % 2:
                    accepted_ar(m.send(make_msg(from_="user@example.org"),
                                       mailfrom="<user@example.org>",
                                       client_addr=GOOD_IP, timeout=20))
                else:
                    text = send_reject(m)
                    assert text in ("old for example.org",
                                    "new for example.org"), text
                done += 1
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append("client %d: %r" % (n, e))
                return
        counts.append(done)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        write_conf(m, [("RejectString", "new for %{domain}")])
        # USR1 then HUP at once: the HUP often arrives while the reload
        # thread is busy with the USR1, when it is not waiting for signals
        # (before the fix libmilter's signal thread then took it and
        # stopped the milter)
        for i in range(150):
            os.kill(m.proc.pid, signal.SIGUSR1)
            os.kill(m.proc.pid, signal.SIGHUP)
            time.sleep(0.003)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    try:
        assert not failures, "\n".join(failures) + "\n" + m.log()[-2000:]
        assert sum(counts) >= 8, counts
        assert m.proc.poll() is None, "the signals stopped the milter " \
            "(engine %s):\n%s" % (ENGINE, m.log()[-2000:])
        assert "stopping" not in m.log() and "mi_stop" not in m.log()
        log = m.log()
        assert "SIGHUP: reloading" in log and "SIGUSR1: reloading" in log
        assert send_reject(m) == "new for example.org"
    finally:
        m.terminate()
        rc = m.wait(15)
        m.kill()
    assert rc == 0, "exit status %s after SIGTERM:\n%s" % (rc, m.log()[-2000:])
    assert "stopping (signal)" in m.log()


def test_reload_keeps_engine(milters):
    """MilterEngine is read at start only: a reload that changes it warns
    that a restart is needed, and the running engine goes on serving"""
    other = "builtin" if ENGINE == "libmilter" else "libmilter"
    m = milters.new("engine-reload").start()
    try:
        write_conf(m, [("MilterEngine", other),
                       ("RejectString", "new for %{domain}")])
        m.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: OK in m.log(), 10), m.log()[-2000:]
        log = m.log()
        assert "changes to MilterEngine take effect only after a restart" \
            in log, log[-2000:]
        assert "engine %s" % ENGINE in log and "engine %s" % other \
            not in log, log[-2000:]
        assert send_reject(m) == "new for example.org"
    finally:
        m.terminate()
        rc = m.wait(15)
        m.kill()
    assert rc == 0, "exit status %s after SIGTERM:\n%s" % (rc, m.log()[-2000:])
