"""Load: 500 concurrent milter sessions against one daemon on loopback, a
slow DNS answer (0.5 s per query, never cached: a new name per message)
mixed into a quarter of them.  Three identical rounds: no failed session
in any, and the daemon's VmRSS after the third round within 10 % (+4 MB)
of the second, i.e. nothing grows per session.  The first round is the
warm-up: the engine starts a worker thread per concurrent connection
(about 75 KB each), and how many run at once in a round depends on how
fast earlier sessions end, so workers added in the third round are
allowed PER_THREAD_KB each."""

import os
import threading
import time

import pytest

from milter_harness import (BAD_IP, GOOD_IP, make_msg)
from milterclient import MilterClient, transaction

from faultdns import FaultDNS
from procstat import threads_of, vmrss_kb  # noqa: E402

SESSIONS = int(os.environ.get("LOAD_SESSIONS", "500"))
PER_THREAD_KB = 128         # a worker thread's stack and malloc caches
MSGS_PER_SESSION = 2


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


@pytest.mark.xdist_group("cpu")
def test_500_concurrent_sessions_memory_flat(load_milter):
    m = load_milter
    pid = m.proc.pid
    rss, took, threads = [vmrss_kb(pid)], [], [threads_of(pid)]
    for rnd in (1, 2, 3):
        errors, t = run_round(m.spec, rnd)
        assert not errors, errors[:5]
        time.sleep(1)
        took.append(t)
        rss.append(vmrss_kb(pid))
        threads.append(threads_of(pid))
    print("load: %d sessions x %d messages; rounds %s s; VmRSS %s kB "
          "(start, after each round); threads %s"
          % (SESSIONS, MSGS_PER_SESSION, ["%.1f" % t for t in took], rss,
             threads))
    # workers added in round 3 (if round 2 ran fewer sessions at once)
    # may bring their stacks and malloc caches; anything else is growth
    extra = max(0, threads[3] - threads[2]) * PER_THREAD_KB
    assert rss[3] <= rss[2] * 1.10 + 4096 + extra, (rss, threads)
    assert m.proc.poll() is None, "daemon died"
