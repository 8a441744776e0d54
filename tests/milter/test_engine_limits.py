"""The milter engine's resource limits (issue 15, defects 1-3 and the body
and burst policy gaps): the open files limit and the connection cap it
sizes, idle connections closed at the cap so that the MTA's is served, the
accept() error log rate-limited, macros and large packets bounded per
connection and in total, body packets of any size streamed, and a burst of
connections not slowing the next one down.

Fault injection: the daemon is started under a low open files limit
(prlimit(1) wrapping the binary), or its limit is lowered while it runs
(prlimit --pid).  The slow ones (timeouts of 30 s and more, idle workers
exiting after 60 s) are in tests/stress/test_engine_idle.py."""

import os
import re
import resource
import select
import shutil
import socket
import struct
import threading
import time

import pytest

import milterclient as mc
from conftest import (GOOD_IP, accepted_ar, assert_ar, make_msg, new_qid,
                      sign, split_message, wait_for)
from conftest import engine_only

# every test here is about the built-in engine's own limits (admit.c,
# conn.c: the connection cap, idle eviction, accept() back-off, macro and
# read-buffer budgets, body streaming); the libmilter engine has libmilter's
# (README "Milter engines", "Limits")
pytestmark = engine_only("builtin", "the built-in engine's own resource "
                         "limits (admit.c, conn.c); libmilter has its own")

PRLIMIT = shutil.which("prlimit") or "/usr/bin/prlimit"

# admit.c / conn.c constants these tests are about
FDS_RESERVED = 64           # ENGINE_FDS_RESERVED
FDS_PER_CONN = 3            # ENGINE_FDS_PER_CONN
MACROS_MAX = 8 * 1024       # ENGINE_MACROS_MAX
PACKET_MAX = 1024 * 1024    # ENGINE_PACKET_MAX
BUF_START = 16 * 1024       # ENGINE_BUF_START
BIGBUF_TOTAL = 64 * 1024 * 1024     # ENGINE_BIGBUF_TOTAL

PASS_AR = [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
           ("dkim", "none", {}),
           ("dmarc", "pass", {"header.from": "example.org"})]


def pkt(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


OPTNEG = pkt(b"O", struct.pack("!III", 6, mc.SMFIF_ALL, mc.SMFIP_ALL))


@pytest.fixture(scope="module", autouse=True)
def own_nofile():
    """this process opens hundreds of sockets: its soft limit up to the
    hard one"""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(want, 65536)),
                                                hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def limited(milters, tmp_path, name, soft, hard):
    """a daemon of its own started under RLIMIT_NOFILE soft:hard"""
    assert os.access(PRLIMIT, os.X_OK), "prlimit (util-linux) is missing"
    wrapper = tmp_path / ("nofile-%s.sh" % name)
    wrapper.write_text("#!/bin/sh\nexec %s --nofile=%d:%d -- %s \"$@\"\n"
                       % (PRLIMIT, soft, hard, milters.binary))
    wrapper.chmod(0o755)
    m = milters.new(name)
    m.binary = str(wrapper)
    return m.start()


def nofile_of(pid):
    """(soft, hard) open files limit of a process"""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open files limit for %d" % pid)


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def open_idle(spec, n, timeout=5):
    """n connections that send OPTNEG and then nothing"""
    out = []
    fam, addr = mc.parse_socket(spec)
    for _ in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
        s.sendall(OPTNEG)
        out.append(s)
    return out


_seen = {}          # socket -> [bytes received, closed by the daemon]


def states(socks):
    """(answered and open, closed by the daemon, no answer yet) counts"""
    open_, closed, waiting = 0, 0, 0
    for s in socks:
        st = _seen.setdefault(s, [b"", False])
        while not st[1] and select.select([s], [], [], 0)[0]:
            try:
                part = s.recv(65536)
            except OSError:
                part = b""
            if not part:
                st[1] = True
                break
            st[0] += part
        if st[1]:
            closed += 1
        elif st[0]:
            open_ += 1
        else:
            waiting += 1
    return open_, closed, waiting


def close_all(socks):
    for s in socks:
        _seen.pop(s, None)
        s.close()


def timed_session(m, timeout=15):
    """one real MTA session; (seconds it took, result)"""
    t0 = time.monotonic()
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@example.org>", client_addr=GOOD_IP,
                 timeout=timeout)
    took = time.monotonic() - t0
    assert_ar(accepted_ar(res), PASS_AR)
    return took, res


def count(log, pattern):
    return len(re.findall(pattern, log))


# ------------------------------------------------ 1. open files limit and cap

def test_soft_nofile_raised_to_hard(milters, tmp_path):
    """started with a soft limit of 256 under a hard one of 8192: the
    daemon runs with 8192 (defect 1: 1024 allowed ~1000 connections)"""
    m = limited(milters, tmp_path, "nofile-raise", 256, 8192)
    assert nofile_of(m.proc.pid) == (8192, 8192), open(
        "/proc/%d/limits" % m.proc.pid).read()
    # 8192 allows the full 4096 connections? (8192 - 64) / 3 = 2709: no
    assert wait_for(lambda: "open files limit 8192: at most 2709 MTA "
                    "connections" in m.log(), 2), m.log()[-2000:]
    timed_session(m)


def test_connection_cap_under_low_fd_limit(milters, tmp_path):
    """open files limit 200 (soft = hard): at most (200 - 64) / 3 = 45 MTA
    connections; 200 more connections than that (more than the limit)
    neither kill the daemon nor starve a real session: idle ones are
    closed for new ones, the rest wait in the listen queue; the daemon
    never runs out of descriptors (no accept error logged)"""
    limit = 200
    cap = (limit - FDS_RESERVED) // FDS_PER_CONN
    m = limited(milters, tmp_path, "nofile-cap", limit, limit)
    pid = m.proc.pid
    socks = open_idle(m.spec, limit)
    try:
        time.sleep(1.5)
        answered, closed, waiting = states(socks)
        assert answered <= cap, (answered, closed, waiting)
        assert waiting > 0, (answered, closed, waiting)
        assert nfds(pid) < limit
        took, _ = timed_session(m)
        print("cap %d: %r (answered, closed, waiting) of %d; real session "
              "%.2f s; daemon fds %d" % (cap, states(socks), limit, took,
                                         nfds(pid)))
        assert took < 8, "a real session took %.1f s" % took
        answered, closed, waiting = states(socks)
        assert answered <= cap, (answered, closed, waiting)
        assert closed > 0, (answered, closed, waiting)
    finally:
        close_all(socks)
    assert m.proc.poll() is None, "daemon died:\n" + m.log()[-3000:]
    log = m.log()
    assert count(log, r"accept: Too many open files") == 0, log[-3000:]
    assert "at most %d MTA connections" % cap in log, log[-3000:]
    assert "closing one idle" in log, log[-3000:]
    assert "evsig_init" not in log and "socketpair" not in log, log[-3000:]
    timed_session(m)


def test_idle_connections_up_to_cap_do_not_starve_mta(milters, tmp_path):
    """defect 2: the cap is full of connections that sent OPTNEG only; a
    real session still gets its answers within a few seconds (the one idle
    longest is closed, logged) and the rest stay open"""
    limit = 400
    cap = (limit - FDS_RESERVED) // FDS_PER_CONN        # 112
    m = limited(milters, tmp_path, "idle-cap", limit, limit)
    socks = open_idle(m.spec, cap)
    try:
        assert wait_for(lambda: states(socks)[0] == cap, 5), states(socks)
        time.sleep(1.2)             # idle long enough to be closed
        took, _ = timed_session(m)
        assert took < 3, "a real session took %.1f s" % took
        answered, closed, waiting = states(socks)
        assert closed >= 1 and answered >= cap - 2, (answered, closed)
    finally:
        close_all(socks)
    assert "no message yet) for a new one" in m.log(), m.log()[-2000:]


def test_idle_connection_in_message_not_closed(milters, tmp_path):
    """at the cap a connection with a message in progress is never the one
    closed: with every slot in a message the new connection waits (listen
    queue), and is served as soon as one ends"""
    limit = 100
    cap = (limit - FDS_RESERVED) // FDS_PER_CONN        # 12
    m = limited(milters, tmp_path, "msg-cap", limit, limit)
    clients = []
    try:
        for i in range(cap):
            c = mc.MilterClient(m.spec, timeout=10)
            c.optneg()
            c.connect("mail.example.org", "4", 4000 + i, GOOD_IP)
            c.mail("<user@example.org>", macros={"i": new_qid()})
            clients.append(c)
        time.sleep(1.5)
        extra = mc.MilterClient(m.spec, timeout=10)
        extra.sock.sendall(OPTNEG)
        extra.sock.settimeout(2)
        with pytest.raises(socket.timeout):
            extra.sock.recv(1)      # not served while all are in a message
        for c in clients:           # none was closed
            c.sock.settimeout(0.01)
            with pytest.raises(socket.timeout):
                c.sock.recv(1)
        clients.pop().close()
        extra.sock.settimeout(5)
        assert extra.sock.recv(4), "no OPTNEG reply after a slot freed"
        extra.close()
    finally:
        for c in clients:
            c.close()
    assert "closing one idle" not in m.log()


def test_accept_emfile_logged_once_not_per_failure(milters, tmp_path):
    """the daemon's limit is lowered under it (prlimit --pid) so that
    accept() fails with EMFILE: it stays alive, backs off, logs one line
    (not ten a second) and, once descriptors are back, serves again and
    says so"""
    m = limited(milters, tmp_path, "emfile", 4096, 4096)
    pid = m.proc.pid
    timed_session(m)                    # resolver warm, its fds open
    low = nfds(pid) + 2
    os.system("%s --pid %d --nofile=%d:4096" % (PRLIMIT, pid, low))
    assert nofile_of(pid)[0] == low
    socks = open_idle(m.spec, 20)
    try:
        time.sleep(3)
        log = m.log()
        assert m.proc.poll() is None, log[-3000:]
        assert count(log, r"accept: Too many open files") == 1, log[-3000:]
    finally:
        os.system("%s --pid %d --nofile=4096:4096" % (PRLIMIT, pid))
    try:
        took, _ = timed_session(m)
        assert took < 5, took
        assert wait_for(lambda: "accepting again" in m.log(), 2)
    finally:
        close_all(socks)


# ------------------------------------------------ 3. memory per connection

def test_macros_over_limit_dropped(milters):
    """a stage's macros over 8 KiB are dropped (logged): the message is
    checked as if the MTA sent none there (no {auth_authen}: no exemption,
    so a failing message is rejected); at the limit they are kept"""
    m = milters.get("engine-limits")

    def macro_data(qid, pad):
        macros = {"{auth_authen}": "alice", "{pad}": "x" * pad, "i": qid}
        return b"M" + b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                               for k, v in macros.items())
    pad_ok = MACROS_MAX - (len(macro_data(new_qid(), 0)) - 1)
    for pad, exempt in ((pad_ok, True), (pad_ok + 1, False),
                        (70000, False)):
        data = macro_data(new_qid(), pad)
        assert (len(data) - 1 <= MACROS_MAX) == exempt, len(data)
        with mc.MilterClient(m.spec) as c:
            c.optneg()
            c.connect("mail.example.org", "4", 4000, "198.51.100.20")
            headers, body = split_message(make_msg(from_="user@example.org"))
            c._send(b"D", data)
            c._send(b"M", b"<user@example.org>\0")
            for n, v in headers:
                c.header(n, v)
            c.eoh()
            c.body(body)
            res = c.eom()
            c.quit()
        assert res.step == "eom", res
        if exempt:
            assert res.action in ("accept", "continue"), res
        else:
            assert res.action == "replycode" and \
                res.reply_shown.startswith("550 "), res
    assert count(m.log(), r"macros for stage M, more than 8192: dropped") \
        == 2, m.log()[-2000:]


def partial_big_packet(spec):
    """a connection in a message that has sent all of a 1 MiB header
    packet but its last byte (the daemon must buffer it)"""
    s = socket.create_connection(mc.parse_socket(spec)[1], timeout=10)
    s.sendall(OPTNEG)
    (n,) = struct.unpack("!I", s.recv(4, socket.MSG_WAITALL))
    s.recv(n, socket.MSG_WAITALL)
    value = b"x" * (PACKET_MAX - len(b"X-Big\0\0"))
    data = pkt(b"L", b"X-Big\0" + value + b"\0")
    assert len(data) == 4 + PACKET_MAX + 1
    try:
        s.sendall(data[:-1])
    except OSError:             # closed by the daemon meanwhile
        _seen[s] = [b"", True]
    return s


def test_large_packets_bounded_in_total(milters):
    """read buffers beyond 16 KiB are bounded across connections (64 MiB):
    as many 1 MiB packets in flight as fit are kept, the next is refused
    (its connection closed, logged); a connection that handled a large
    packet shrinks its buffer back (else one fewer would fit)"""
    m = milters.get("engine-bigbuf")
    per = 4 + PACKET_MAX + 1 - BUF_START
    fit = BIGBUF_TOTAL // per
    # one connection that had a large packet, then goes on small ones
    first = mc.MilterClient(m.spec)
    first.optneg()
    first.connect("mail.example.org", "4", 4000, GOOD_IP)
    first.mail("<user@example.org>", macros={"i": new_qid()})
    first.rcpt("<rcpt@example.net>")
    first._send(b"L", b"X-Big\0" + b"x" * (PACKET_MAX - 7) + b"\0")
    first.header("Subject", " after the big one")
    socks = []
    try:
        for _ in range(fit):
            socks.append(partial_big_packet(m.spec))
        time.sleep(1)
        answered, closed, _ = states(socks)
        assert closed == 0, "%d of %d closed:\n%s" % (
            closed, fit, m.log()[-2000:])
        over = partial_big_packet(m.spec)
        socks.append(over)
        assert wait_for(lambda: states([over])[1] == 1, 5), m.log()[-2000:]
        assert "other connections' large packets use" in m.log()
        assert m.proc.poll() is None
    finally:
        close_all(socks)
        first.close()
    timed_session(m)


# ------------------------------------------------ body packets of any size

@pytest.mark.parametrize("size", [PACKET_MAX + 1, 3 * PACKET_MAX + 12345],
                         ids=["1MiB+1", "3MiB"])
def test_body_packet_over_1mib_streams(milters, keys, size):
    """one body packet larger than the 1 MiB packet limit is streamed to
    the checks (README: body packets stream whatever their size): the DKIM
    body hash covers all of it"""
    m = milters.get("engine-limits")
    line = b"a line of the large body, repeated to fill a big packet ..\r\n"
    body = (line * (size // len(line) + 1))[:size - 2] + b"\r\n"
    msg = sign(make_msg(from_="user@example.org", body=body.decode()),
               "rsa", "example.org", keys.rsa_key)
    headers, body = split_message(msg)
    assert len(body) > PACKET_MAX
    qid = new_qid()
    with mc.MilterClient(m.spec, timeout=30) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        c.mail("<user@example.org>", macros={"i": qid})
        c.rcpt("<rcpt@example.net>")
        for n, v in headers:
            c.header(n, v)
        c.eoh()
        c._send(b"B", body)
        if not c.has(mc.SMFIP_NR_BODY):
            assert c._answer("body") is None
        res = c.eom(macros={"i": qid})
        c.quit()
    res.headers_sent = headers
    assert_ar(accepted_ar(res),
              [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
               ("dkim", "pass", {"header.d": "example.org"}),
               ("dmarc", "pass", {"header.from": "example.org"})])


# ------------------------------------------------ burst: the spawn wait

def sanitized(binary):
    """built with AddressSanitizer (thread creation is several times
    slower there)"""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def test_burst_does_not_delay_next_connection(milters):
    """1000 connections at once, every worker busy: the acceptor waited
    2 ms per queued connection (2.5 s here, 4.4 s after 2000 in the
    report); now a connection made right after the burst gets its OPTNEG
    answer within a second: the cost of starting the 1000 workers (about
    0.4 ms each).  Under ASan starting one costs 1-2.5 ms, as much as the
    wait itself, so there the limit is 4 s and only catches waits of
    several ms per connection; the plain build is the real check."""
    m = milters.get("engine-burst")
    n = 1000
    limit = 4.0 if sanitized(milters.binary) else 1.0
    socks = []
    try:
        fam, addr = mc.parse_socket(m.spec)
        for _ in range(n):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.connect(addr)
            s.sendall(OPTNEG)
            socks.append(s)
        t0 = time.monotonic()
        last = socket.create_connection(addr, timeout=20)
        last.sendall(OPTNEG)
        got = last.recv(4)
        took = time.monotonic() - t0
        socks.append(last)
        print("burst: the connection after %d waited %.3f s" % (n, took))
        assert got, "no answer"
        assert took < limit, "the connection after a burst of %d " \
            "waited %.2f s" % (n, took)
    finally:
        close_all(socks)
