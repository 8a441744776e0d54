"""The milter engine over minutes (issue 15, defects 2 and 4), too slow for
the milter tier:

- 4100 connections that send OPTNEG and then nothing (more than the 4096
  connections the engine serves at once): a real MTA session still gets
  its answers within seconds, not after 40 s;
- a connection silent before OPTNEG is closed after 30 s
  (ENGINE_NEG_TIMEOUT), not after libmilter's 7210 s; one that negotiated
  stays open (its socket's 30 s SO_RCVTIMEO fires and is raised to the
  600 s it may wait: conn.c read_more);
- after a burst of 200 connections, under steady traffic, the idle workers
  exit: the thread count falls to about ENGINE_IDLE_KEEP + busy within
  ENGINE_IDLE_SECS (60 s) plus a margin, rather than the FIFO wake-up
  resetting every idle timer."""

import os
import resource
import socket
import struct
import threading
import time

import pytest

from milter_harness import GOOD_IP, make_msg, wait_for
from milterclient import SMFIF_ALL, SMFIP_ALL, parse_socket
from procstat import threads_of, vmrss_kb  # noqa: E402

IDLE_KEEP = 8           # ENGINE_IDLE_KEEP, engine.c
IDLE_SECS = 60          # ENGINE_IDLE_SECS
NEG_TIMEOUT = 30        # ENGINE_NEG_TIMEOUT, conn.c
THREADS_MAX = 4096      # ENGINE_THREADS_MAX, engine_int.h

OPTNEG = struct.pack("!I", 13) + b"O" + struct.pack("!III", 6, SMFIF_ALL,
                                                     SMFIP_ALL)


@pytest.fixture(scope="module", autouse=True)
def own_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard >= THREADS_MAX + 200, \
        "this test needs an open files limit above %d (hard: %d)" % (
            THREADS_MAX + 200, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (
        hard if hard != resource.RLIM_INFINITY else 65536, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def good_session(m, timeout=30):
    t0 = time.monotonic()
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@example.org>", client_addr=GOOD_IP,
                 timeout=timeout)
    assert res.step == "eom" and res.action in ("accept", "continue"), res
    return time.monotonic() - t0


@pytest.mark.xdist_group("cpu")
def test_4100_idle_connections_do_not_starve_mta(milters):
    """defect 2 as reported: 4100 OPTNEG-only connections, then a real
    session gets its verdict within 10 s (it got none within 40 s)"""
    m = milters.new("idle4100", [("LogLevel", "info")]).start()
    fam, addr = parse_socket(m.spec)
    socks = []
    # low descriptors kept for the real session (milterclient uses select)
    low = [os.open("/dev/null", os.O_RDONLY) for _ in range(8)]
    try:
        for _ in range(THREADS_MAX + 4):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.connect(addr)
            s.sendall(OPTNEG)
            socks.append(s)
        time.sleep(2)
        for fd in low:
            os.close(fd)
        low = []
        took = good_session(m, timeout=40)
        print("idle4100: real session after %d idle connections: %.2f s; "
              "threads %d, VmRSS %d kB" % (len(socks), took,
                                          threads_of(m.proc.pid),
                                          vmrss_kb(m.proc.pid)))
        assert took < 10, took
    finally:
        for fd in low:
            os.close(fd)
        for s in socks:
            s.close()
    assert m.proc.poll() is None


@pytest.mark.xdist_group("wait")
def test_silent_before_optneg_closed(milters):
    """a connection that never sends OPTNEG is closed after 30 s (logged);
    one that negotiated stays open past that"""
    m = milters.get("timeouts")
    fam, addr = parse_socket(m.spec)
    silent = socket.socket(fam, socket.SOCK_STREAM)
    silent.connect(addr)
    negotiated = socket.socket(fam, socket.SOCK_STREAM)
    negotiated.connect(addr)
    negotiated.sendall(OPTNEG)
    t0 = time.monotonic()
    try:
        (n,) = struct.unpack("!I", negotiated.recv(4, socket.MSG_WAITALL))
        negotiated.recv(n, socket.MSG_WAITALL)
        silent.settimeout(NEG_TIMEOUT + 15)
        assert silent.recv(1) == b""
        took = time.monotonic() - t0
        assert NEG_TIMEOUT - 1 <= took <= NEG_TIMEOUT + 5, took
        negotiated.settimeout(5)
        with pytest.raises(socket.timeout):
            negotiated.recv(1)      # still open, 35 s after its OPTNEG
    finally:
        silent.close()
        negotiated.close()
    assert wait_for(lambda: "MTA silent for %d s before option negotiation"
                    % NEG_TIMEOUT in m.log(), 2), m.log()[-2000:]


@pytest.mark.xdist_group("idle")
def test_idle_workers_exit_under_steady_traffic(milters):
    """defect 4: a burst of 200 connections, then 10 sessions a second:
    within ENGINE_IDLE_SECS + 20 s the threads fall back to about
    IDLE_KEEP + busy (they stayed at 200+ for 100 s and more: each
    wake-up of the oldest idle worker reset its timer)"""
    m = milters.new("idleworkers", [("LogLevel", "info")]).start()
    pid = m.proc.pid
    good_session(m)
    base = threads_of(pid)          # main, watcher, resolver, reload...
    fam, addr = parse_socket(m.spec)
    burst = []
    for _ in range(200):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.connect(addr)
        s.sendall(OPTNEG)
        burst.append(s)
    for s in burst:                 # each one is served by a worker
        s.settimeout(10)
        assert len(s.recv(4, socket.MSG_WAITALL)) == 4
    assert threads_of(pid) >= 200, threads_of(pid)
    peak = threads_of(pid)
    rss_peak = vmrss_kb(pid)
    for s in burst:
        s.close()
    errors = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            t = time.monotonic()
            try:
                good_session(m)
            except Exception as e:      # noqa: BLE001 - reported below
                errors.append(repr(e))
            stop.wait(max(0, 0.1 - (time.monotonic() - t)))
    senders = [threading.Thread(target=traffic) for _ in range(1)]
    for t in senders:
        t.start()
    samples = []
    bound = base + IDLE_KEEP + 4
    t0 = time.monotonic()
    try:
        # until the threads are down to the bound, or IDLE_SECS + 20 s:
        # with the defect they stay at 200+ throughout (the test fails
        # at the deadline); without it they fall after about IDLE_SECS,
        # and waiting out the rest would check nothing more
        end = t0 + IDLE_SECS + 20
        while time.monotonic() < end:
            samples.append(threads_of(pid))
            if samples[-1] <= bound:
                break
            time.sleep(1)
    finally:
        stop.set()
        for t in senders:
            t.join(30)
    final = threads_of(pid)
    print("idle workers: base %d, peak %d after the burst, down to %d "
          "after %.0f s (every 5th of the 1 s samples: %s), final %d; "
          "VmRSS peak %d kB, final %d kB"
          % (base, peak, samples[-1], time.monotonic() - t0, samples[::5],
             final, rss_peak, vmrss_kb(pid)))
    assert not errors, errors[:3]
    assert final <= bound, (base, peak, samples, final)
