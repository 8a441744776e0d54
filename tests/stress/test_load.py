"""Load: 500 concurrent milter sessions against one daemon on loopback, a
slow DNS answer (0.5 s per query, never cached: a new name per message)
mixed into a quarter of them.  Two identical rounds: no failed session in
either, and the daemon's VmRSS after the second round within 10 % (+4 MB)
of the first, i.e. nothing grows per session."""

import os
import threading
import time

import pytest

from milter_harness import (BAD_IP, GOOD_IP, make_msg)
from milterclient import MilterClient, transaction

from faultdns import FaultDNS

SESSIONS = int(os.environ.get("LOAD_SESSIONS", "500"))
MSGS_PER_SESSION = 2


def vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def session(spec, i, rnd, barrier, errors):
    slow = i % 4 == 0
    try:
        barrier.wait(60)
        with MilterClient(spec, timeout=60) as c:
            c.optneg()
            c.connect("client%d.example" % i, "4", 10000 + i,
                      BAD_IP if slow else GOOD_IP)
            c.helo("mail.example.org")
            for k in range(MSGS_PER_SESSION):
                if slow:
                    msg = make_msg(from_="user@m%d-%d-%d.slow.example"
                                   % (rnd, i, k))
                    res = transaction(c, msg, mailfrom="<a@example.com>")
                else:
                    msg = make_msg(from_="user@example.org")
                    res = transaction(c, msg, mailfrom="<user@example.org>")
                if res.step != "eom" or res.action not in ("continue",
                                                           "accept"):
                    errors.append((i, k, repr(res)))
            c.quit()
    except Exception as e:          # any failure of a session counts
        errors.append((i, "exception", repr(e)))


def run_round(spec, rnd):
    barrier = threading.Barrier(SESSIONS)
    errors = []
    threads = [threading.Thread(target=session,
                                args=(spec, i, rnd, barrier, errors))
               for i in range(SESSIONS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(t.is_alive() for t in threads), "sessions hang"
    return errors, time.monotonic() - t0


@pytest.fixture(scope="module")
def load_milter(nsd, milters):
    proxy = FaultDNS(nsd.port, {"*.slow.example": ("slow", 0.5),
                                "slow.example": ("slow", 0.5)})
    yield milters.get("load", [("DNSTimeout", "5"), ("LogLevel", "warning")],
                      nameservers=proxy.spec)
    proxy.close()


def test_500_concurrent_sessions_memory_flat(load_milter):
    m = load_milter
    pid = m.proc.pid
    rss0 = vmrss_kb(pid)
    errors, took1 = run_round(m.spec, 1)
    assert not errors, errors[:5]
    time.sleep(1)
    rss1 = vmrss_kb(pid)
    errors, took2 = run_round(m.spec, 2)
    assert not errors, errors[:5]
    time.sleep(1)
    rss2 = vmrss_kb(pid)
    print("load: %d sessions x %d messages; rounds %.1fs, %.1fs; VmRSS "
          "start %d kB, after round 1 %d kB, after round 2 %d kB"
          % (SESSIONS, MSGS_PER_SESSION, took1, took2, rss0, rss1, rss2))
    assert rss2 <= rss1 * 1.10 + 4096, (rss0, rss1, rss2)
    assert m.proc.poll() is None, "daemon died"
