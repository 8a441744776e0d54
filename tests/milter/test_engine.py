"""The protocol engine (milter/server/engine.c, conn.c, mproto.c, listen.c) at the wire
level: several messages and QUIT_NC on one connection, what the OPTNEG reply
holds, MTAs without SMFIP_NR_*, protocol errors that must end only their own
connection, packets split and coalesced across writes, big bodies in many
chunks (and a last chunk inside EOM), macro names with and without braces,
many connections at once, and the listening socket's start-up rules.

The tests that talk to a running daemon use one of their own ("engine") so
its log holds only what they did."""

import os
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import threading
import time

import pytest

import milterclient as mc
from procstat import threads_of
from conftest import (AUTHSERV_ID, BAD_IP, ENGINE, GOOD_IP, accepted_ar,
                      ar_entries, assert_ar, engine_only, free_port, make_msg,
                      new_qid, rejected, sign, split_message, wait_for)

# libmilter's own behaviour, where it differs from the built-in engine's
# (README "Milter engines": documented, not changed)
LM_MACROS_KEPT = engine_only(
    "builtin", "libmilter keeps a stage's macros until the MTA sends that "
    "stage's macros again (no MTA skips the MAIL macros)")
LM_QUIT_NC = engine_only(
    "builtin", "libmilter's state table ignores QUIT_NC, and the CONNECT "
    "after it, once a message was rejected or was cut mid-message")
LM_EOM_BODY = "libmilter skips the end of message after body bytes in " \
    "the EOM packet when NR_BODY is negotiated (no MTA sends them)"

PASS_AR = [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
           ("dkim", "none", {}),
           ("dmarc", "pass", {"header.from": "example.org"})]

# what callbacks.c asks for when the MTA offers SETSYMLIST
SYMLISTS = {"mail": ["i", "{auth_authen}"], "eom": ["i"]}


@pytest.fixture
def em(milters):
    """the daemon these tests share (default configuration, own log)"""
    return milters.get("engine")


# ---------------------------------------------------------------- raw wire

def pkt(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


def macro_pkt(stage, macros):
    return pkt(b"D", stage + b"".join(cstr(k) + cstr(v)
                                      for k, v in macros.items()))


def optneg_pkt(actions=mc.SMFIF_ALL, steps=mc.SMFIP_ALL, version=6):
    return pkt(b"O", struct.pack("!III", version, actions, steps))


def connect_pkt(host="mail.example.org", addr=GOOD_IP, family=b"4",
                port=4000):
    return pkt(b"C", cstr(host) + family + struct.pack("!H", port) +
               cstr(addr))


def header_pkt(name, value):
    return pkt(b"L", cstr(name) + cstr(value))


def raw_conn(spec, timeout=10):
    fam, addr = mc.parse_socket(spec)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    if fam != socket.AF_UNIX:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            raise AssertionError("daemon closed the connection after %r"
                                 % buf)
        buf += part
    return buf


def recv_pkt(s):
    (n,) = struct.unpack("!I", recv_exact(s, 4))
    assert 1 <= n <= 64 * 1024 * 1024, n
    data = recv_exact(s, n)
    return data[:1], data[1:]


def parse_optneg_reply(data):
    """(version, actions, steps, {stage name: [macros]}) of an 'O' reply"""
    assert len(data) >= 12, data
    version, actions, steps = struct.unpack("!III", data[:12])
    lists = {}
    rest = data[12:]
    while rest:
        (stage,) = struct.unpack("!I", rest[:4])
        end = rest.index(b"\0", 4)
        lists[mc.STAGES.get(stage, stage)] = rest[4:end].decode().split()
        rest = rest[end + 1:]
    return version, actions, steps, lists


def negotiate(s, actions=mc.SMFIF_ALL, steps=mc.SMFIP_ALL, version=6):
    s.sendall(optneg_pkt(actions, steps, version))
    code, data = recv_pkt(s)
    assert code == b"O", (code, data)
    return parse_optneg_reply(data)


def closed_by_daemon(s, timeout=5):
    """the daemon hangs up (EOF or reset) within timeout; returns whatever
    it sent before (b"" expected).  Fails on a timeout: the connection
    should not be left hanging after a protocol error."""
    s.settimeout(timeout)
    got = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            part = s.recv(65536)
        except ConnectionResetError:
            return got
        except socket.timeout:
            break
        if not part:
            return got
        got += part
    pytest.fail("daemon did not close the connection within %ss "
                "(got %r)" % (timeout, got[:200]))


def good(m, **kw):
    """one normal transaction that must pass everything"""
    kw.setdefault("mailfrom", "<user@example.org>")
    kw.setdefault("client_addr", GOOD_IP)
    res = m.send(make_msg(from_="user@example.org"), **kw)
    assert_ar(accepted_ar(res), PASS_AR)
    return res


def assert_exempt(ar):
    h, got = ar_entries(ar)
    assert h.authserv_id == AUTHSERV_ID
    assert got == [], "exempt client got method results: %s" % ar
    assert ar.split(";", 1)[1].strip().startswith("none"), ar


def failing_msg():
    """example.org (p=reject) from a client its SPF does not allow, no
    DKIM: rejected unless the client is exempt"""
    return make_msg(from_="user@example.org")


def no_summary(m, qid):
    return not [ln for ln in m.log().splitlines()
                if qid in ln and "action=" in ln]


# ------------------------------------------------- 1. messages on a connection

@LM_MACROS_KEPT
def test_messages_on_one_connection_are_separate(em):
    """MAIL..EOM twice, an ABORT, then another: each message has its own
    verdict; nothing (headers, the auth macro, the queue id) carries over"""
    q1, q3, q4 = new_qid(), new_qid(), new_qid()
    with mc.MilterClient(em.spec) as c:
        c.optneg()
        assert c.connect("mail.example.org", "4", 4000, GOOD_IP,
                         macros={"j": "mx"}) is None
        assert c.helo("mail.example.org") is None
        # 1: an authenticated client (exempt); its From is example.biz
        r1 = mc.transaction(c, make_msg(from_="user@example.biz"),
                            mailfrom="<user@example.org>", queue_id=q1,
                            auth_authen="alice")
        assert_exempt(accepted_ar(r1))
        # 2: no macros at all: a leaked {auth_authen} would make it exempt,
        # a leaked From would make DMARC permerror, a leaked "i" would log
        # a second summary line under q1
        r2 = mc.transaction(c, make_msg(from_="user@example.org"),
                            mailfrom="<user@example.org>", send_macros=False)
        assert_ar(accepted_ar(r2), PASS_AR)
        # 3: aborted after a From of another domain and an auth macro
        assert c.mail("<user@example.org>",
                      macros={"i": q3, "{auth_authen}": "bob"}) is None
        c.rcpt("<rcpt@example.net>")
        c.header("From", " user@example.net")
        c.header("Subject", " aborted")
        c.abort()
        # 4: sees none of 3
        r4 = mc.transaction(c, make_msg(from_="user@example.org"),
                            mailfrom="<user@example.org>", queue_id=q4)
        assert_ar(accepted_ar(r4), PASS_AR)
        c.quit()
    s1 = em.summary(q1)             # exactly one line: 2 did not log as q1
    assert s1.get("exempt") == "yes", s1["line"]
    s4 = em.summary(q4)
    assert s4["action"] == "accept" and "exempt" not in s4, s4["line"]
    assert s4["spf"] == "pass" and s4["dmarc"] == "pass", s4["line"]
    assert no_summary(em, q3), "the aborted message was logged"


# ------------------------------------------------------------ 2. QUIT_NC

@LM_QUIT_NC
def test_quit_nc_new_client(em):
    """'K' then CONNECT (no new OPTNEG): the next message is judged for the
    new client and HELO, not the old"""
    q1, q2, q3 = new_qid(), new_qid(), new_qid()
    msg = make_msg(from_="user@example.org")
    with mc.MilterClient(em.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        c.helo("mail.example.org")
        r1 = mc.transaction(c, msg, mailfrom="<user@example.org>",
                            queue_id=q1)
        assert_ar(accepted_ar(r1), PASS_AR)
        c.quit_nc()
        c.connect("other.example.net", "4", 4001, BAD_IP)
        c.helo("other.example.net")
        r2 = mc.transaction(c, msg, mailfrom="<user@example.org>",
                            queue_id=q2)
        rejected(r2)                # SPF fail for BAD_IP, DMARC p=reject
        c.quit_nc()
        # back to the good client, and no HELO this time
        c.connect("mail.example.org", "4", 4002, GOOD_IP)
        r3 = mc.transaction(c, msg, mailfrom="<user@example.org>",
                            queue_id=q3)
        assert_ar(accepted_ar(r3), PASS_AR)
        c.quit()
    s1, s2, s3 = em.summary(q1), em.summary(q2), em.summary(q3)
    assert s1["client"] == GOOD_IP and s1["helo"] == "mail.example.org", s1
    assert s2["client"] == BAD_IP and s2["helo"] == "other.example.net", s2
    assert s2["action"] == "reject" and s2["spf"] == "fail", s2["line"]
    assert s3["client"] == GOOD_IP, s3["line"]
    assert s3.get("helo") != "other.example.net", s3["line"]


@LM_QUIT_NC
def test_quit_nc_mid_message(em):
    """'K' in the middle of a message (with an auth macro and a From) ends
    it; the next connection's message is not exempt and is judged alone"""
    q2 = new_qid()
    with mc.MilterClient(em.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        c.mail("<user@example.org>", macros={"i": new_qid(),
                                              "{auth_authen}": "alice"})
        c.rcpt("<rcpt@example.net>")
        c.header("From", " user@example.net")
        c.quit_nc()
        c.connect("other.example.net", "4", 4001, BAD_IP)
        r = mc.transaction(c, failing_msg(), mailfrom="<user@example.org>",
                           queue_id=q2)
        rejected(r)
        c.quit()
    assert em.summary(q2)["client"] == BAD_IP


# ------------------------------------------------------------ 3. OPTNEG

def test_optneg_full_offer(em):
    s = raw_conn(em.spec)
    try:
        version, actions, steps, lists = negotiate(s)
    finally:
        s.close()
    assert version == 6
    assert actions & ~mc.SMFIF_ALL == 0 and steps & ~mc.SMFIP_ALL == 0
    need = mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS | mc.SMFIF_SETSYMLIST
    assert actions & need == need, hex(actions)
    assert lists == SYMLISTS, lists


def test_optneg_newer_mta_version(em):
    """an MTA speaking a newer version gets ours, 6"""
    s = raw_conn(em.spec)
    try:
        version, _, _, _ = negotiate(s, version=7)
    finally:
        s.close()
    assert version == 6


@pytest.mark.parametrize("actions,steps", [
    (mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS, mc.SMFIP_NR_HDR),
    (mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS | mc.SMFIF_QUARANTINE,
     mc.SMFIP_NR_HDR | mc.SMFIP_NR_BODY | mc.SMFIP_NOUNKNOWN),
    (mc.SMFIF_ALL & ~mc.SMFIF_SETSYMLIST, mc.SMFIP_ALL),
], ids=["minimal", "some", "all-but-symlist"])
def test_optneg_subset_and_no_symlists(em, actions, steps):
    """never more than offered; no symbol lists without SETSYMLIST (an MTA
    that did not offer it would read them as garbage)"""
    s = raw_conn(em.spec)
    try:
        s.sendall(optneg_pkt(actions, steps))
        code, data = recv_pkt(s)
    finally:
        s.close()
    assert code == b"O"
    assert len(data) == 12, "symbol lists sent without SETSYMLIST: %r" % data
    version, got_a, got_s = struct.unpack("!III", data)
    assert version == 6
    assert got_a & ~actions == 0, hex(got_a)
    assert got_s & ~steps == 0, hex(got_s)
    assert got_a & (mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS) == \
        mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS


@pytest.mark.parametrize("actions", [
    mc.SMFIF_ADDHDRS | mc.SMFIF_QUARANTINE | mc.SMFIF_SETSYMLIST,
    mc.SMFIF_CHGHDRS,
    0,
], ids=["no-chghdrs", "no-addhdrs", "nothing"])
def test_optneg_without_header_changes_refused(em, actions):
    """without ADDHDRS|CHGHDRS the daemon cannot add its A-R: it hangs up
    (the MTA applies its default), and keeps serving others"""
    s = raw_conn(em.spec)
    try:
        s.sendall(optneg_pkt(actions, mc.SMFIP_ALL))
        got = closed_by_daemon(s)
    finally:
        s.close()
    assert got == b"", "expected a hang-up, got %r" % got
    assert "does not offer header changes" in em.log()
    good(em)


# ------------------------------------------------------- 4. no NR_* (old MTA)

@pytest.mark.parametrize("client,verdict", [(GOOD_IP, "pass"),
                                            (BAD_IP, "reject")])
def test_no_nr_every_step_answered(em, client, verdict):
    """an MTA offering no SMFIP_NR_*: a 'c' for every step up to the body,
    then the right verdict at EOM"""
    offer = mc.SMFIP_NORCPT | mc.SMFIP_NODATA | mc.SMFIP_NOUNKNOWN | \
        mc.SMFIP_HDR_LEADSPC
    qid = new_qid()
    msg = make_msg(from_="user@example.org")
    headers, body = split_message(msg)
    with mc.MilterClient(em.spec) as c:
        c.optneg(mc.SMFIF_ALL, offer)
        assert c.protocol & ~offer == 0, hex(c.protocol)
        # NORCPT offered but not taken: RCPT comes and is answered too
        assert not c.protocol & mc.SMFIP_NORCPT, hex(c.protocol)
        steps = [(b"C", b"mail.example.org\x004" + struct.pack("!H", 4000) +
                  cstr(client))]
        steps.append((b"H", cstr("mail.example.org")))
        steps.append((b"M", cstr("<user@example.org>")))
        steps.append((b"R", cstr("<rcpt@example.net>")))
        steps += [(b"L", cstr(n) + cstr(v.replace("\r\n", "\n")))
                  for n, v in headers]
        steps += [(b"N", b""), (b"B", body)]
        for code, data in steps:
            if code == b"M":
                c.macros(b"M", {"i": qid})
            c._send(code, data)
            got = c._recv()
            assert got == (b"c", b""), "step %r answered %r" % (code, got)
        c.macros(b"E", {"i": qid})
        res = c.eom()
        res.headers_sent = headers
        c.quit()
    if verdict == "pass":
        assert_ar(accepted_ar(res), PASS_AR)
    else:
        rejected(res)
    assert em.summary(qid)["client"] == client


# ------------------------------------------------------- 5. protocol errors

HELLO = optneg_pkt() + connect_pkt() + pkt(b"H", cstr("mail.example.org"))
IN_MSG = HELLO + pkt(b"M", cstr("<user@example.org>"))

PROTOCOL_ERRORS = [
    # id, bytes (after a completed OPTNEG unless the id says before), log
    ("unknown-command", HELLO + pkt(b"Z", b"junk"),
     "unknown command 0x5a"),
    ("unknown-command-in-message", IN_MSG + pkt(b"\x00", b""),
     "unknown command 0x00"),
    ("length-zero", HELLO + b"\0\0\0\0L", "bad packet length"),
    ("length-too-big", IN_MSG + struct.pack("!I", 1024 * 1024 + 2) + b"L",
     "bad packet length"),
    ("length-huge", IN_MSG + struct.pack("!I", 0xFFFFFFFF) + b"L",
     "bad packet length"),
    ("header-no-nul", IN_MSG + pkt(b"L", b"From"), "malformed header"),
    ("header-value-no-nul", IN_MSG + pkt(b"L", b"From\0user@example.org"),
     "malformed header"),
    ("connect-unknown-family", optneg_pkt() + pkt(
        b"C", cstr("host") + b"X" + struct.pack("!H", 25) + cstr(GOOD_IP)),
     "malformed connect"),
    ("connect-bad-address", optneg_pkt() + pkt(
        b"C", cstr("host") + b"4" + struct.pack("!H", 25) + cstr("300.1.2.3")),
     "malformed connect"),
    ("mail-no-nul", HELLO + pkt(b"M", b"<user@example.org>"),
     "malformed MAIL"),
    ("before-optneg-http", b"GET / HTTP/1.0\r\n\r\n", "bad packet length"),
    ("before-optneg-short-optneg", pkt(b"O", b"\0\0\0\6"),
     "bad option negotiation"),
    ("before-optneg-junk-packet", pkt(b"\xff", b"\x01\x02") + optneg_pkt(),
     "unknown command 0xff"),
]


@pytest.mark.parametrize("data,logged", [p[1:] for p in PROTOCOL_ERRORS],
                         ids=[p[0] for p in PROTOCOL_ERRORS])
def test_protocol_error_ends_only_that_connection(em, data, logged):
    other = mc.MilterClient(em.spec)    # a connection open meanwhile
    other.optneg()
    other.connect("mail.example.org", "4", 4000, GOOD_IP)
    s = raw_conn(em.spec)
    if ENGINE == "libmilter":
        # what libmilter does with the bad connection (close it, or wait
        # for more bytes until its timeout) and says (to syslog) is its
        # own; what matters to the MTA is checked: no verdict on it, and
        # the other connections go on
        try:
            s.sendall(data)
            s.settimeout(1)
            try:
                got = s.recv(65536)
            except (socket.timeout, OSError):
                got = b""
        finally:
            s.close()
        assert got == b"" or got[4:5] == b"O", got
        r = mc.transaction(other, make_msg(from_="user@example.org"),
                           mailfrom="<user@example.org>", queue_id=new_qid())
        assert_ar(accepted_ar(r), PASS_AR)
        other.quit()
        good(em)
        return
    try:
        s.sendall(data)
        got = closed_by_daemon(s)
    finally:
        s.close()
    # only the OPTNEG reply (if one was asked for) came before the hang-up
    if data.startswith(optneg_pkt()):
        (n,) = struct.unpack("!I", got[:4])
        assert got[4:5] == b"O" and len(got) == 4 + n, got
    else:
        assert got == b"", got
    assert wait_for(lambda: logged in em.log(), 2), \
        "log lacks %r:\n%s" % (logged, em.log()[-2000:])
    # the connection that was open goes on
    r = mc.transaction(other, make_msg(from_="user@example.org"),
                       mailfrom="<user@example.org>", queue_id=new_qid())
    assert_ar(accepted_ar(r), PASS_AR)
    other.quit()
    good(em)


def test_truncated_packet_then_close(em):
    """half a header packet, then the MTA hangs up: the daemon closes its
    end too (no worker left waiting) and serves the next"""
    s = raw_conn(em.spec)
    try:
        s.sendall(IN_MSG)
        full = header_pkt("From", "user@example.org")
        s.sendall(full[:len(full) // 2])
        s.shutdown(socket.SHUT_WR)
        got = closed_by_daemon(s)
    finally:
        s.close()
    assert got[4:5] == b"O", got     # the OPTNEG reply, nothing after it
    assert len(got) == 4 + struct.unpack("!I", got[:4])[0], got
    good(em)


def test_largest_packet_accepted(em):
    """a packet of exactly the largest length (1 MiB payload + command) is
    not a protocol error: the message goes on to its verdict"""
    qid = new_qid()
    with mc.MilterClient(em.spec, timeout=30) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        c.mail("<user@example.org>", macros={"i": qid})
        c.rcpt("<rcpt@example.net>")
        name = b"X-Big"
        value = b"x" * (1024 * 1024 - len(name) - 2)
        data = name + b"\0" + value + b"\0"
        assert len(data) + 1 == 1024 * 1024 + 1
        c._send(b"L", data)
        headers, body = split_message(make_msg(from_="user@example.org"))
        for n, v in headers:
            c.header(n, v)
        c.eoh()
        c.body(body)
        res = c.eom(macros={"i": qid})
        c.quit()
    assert res.step == "eom" and res.action in ("accept", "continue"), res
    assert [op for op in res.ops if op.kind == "insert" and
            op.name == "Authentication-Results"], res.ops
    good(em)


# ------------------------------------------------------ 6. split / coalesced

class DribbleClient(mc.MilterClient):
    """sends the packets of the given commands one byte per write"""

    def __init__(self, spec, dribble):
        super().__init__(spec)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.dribble = dribble
        self.writes = 0

    def _send(self, code, data=b""):
        if code not in self.dribble:
            return super()._send(code, data)
        self._check_quiet()
        self.log.append((">", code, data))
        for b in struct.pack("!I", len(data) + 1) + code + data:
            self.sock.sendall(bytes([b]))
            self.writes += 1
            time.sleep(0.0005)


def test_packets_split_into_single_bytes(em):
    msg = make_msg(from_="user@example.org")
    headers, body = split_message(msg)
    qid = new_qid()
    c = DribbleClient(em.spec, {b"O", b"C", b"D", b"M", b"L", b"E"})
    try:
        c.optneg()
        assert c.writes == 17
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        res = mc.transaction(c, (headers, body[:200]),
                             mailfrom="<user@example.org>", queue_id=qid)
        c.quit()
    finally:
        c.close()
    assert c.writes > 300
    assert_ar(accepted_ar(res), PASS_AR)
    assert em.summary(qid)["action"] == "accept"


def message_bytes(msg, qid, mailfrom="<user@example.org>", eom_data=b""):
    """every packet of one message (MAIL .. EOM) as the MTA writes them
    under NR_MAIL/NR_RCPT/NR_HDR/NR_EOH/NR_BODY, LEADSPC"""
    headers, body = split_message(msg)
    out = macro_pkt(b"M", {"i": qid}) + pkt(b"M", cstr(mailfrom))
    out += pkt(b"R", cstr("<rcpt@example.net>"))
    for n, v in headers:
        out += header_pkt(n, v.replace("\r\n", "\n"))
    out += pkt(b"N")
    for i in range(0, len(body), mc.MAX_CHUNK):
        out += pkt(b"B", body[i:i + mc.MAX_CHUNK])
    out += macro_pkt(b"E", {"i": qid}) + pkt(b"E", eom_data)
    return headers, out


def test_packets_coalesced_into_one_write(em):
    """OPTNEG, CONNECT, HELO and two whole messages in one write: the OPTNEG
    reply, then both messages' answers, nothing between"""
    q1, q2 = new_qid(), new_qid()
    h1, m1 = message_bytes(make_msg(from_="user@example.org"), q1)
    h2, m2 = message_bytes(failing_msg(), q2)
    c = mc.MilterClient(em.spec)
    try:
        c.sock.sendall(optneg_pkt() + macro_pkt(b"C", {"j": "mx"}) +
                       connect_pkt() + pkt(b"H", cstr("mail.example.org")) +
                       m1 + pkt(b"K") +
                       connect_pkt(host="bad.example", addr=BAD_IP) + m2 +
                       pkt(b"Q"))
        code, data = c._recv()
        assert code == b"O"
        c.version, c.actions, c.protocol, _ = parse_optneg_reply(data)
        need = (mc.SMFIP_NR_CONN | mc.SMFIP_NR_HELO | mc.SMFIP_NR_MAIL |
                mc.SMFIP_NR_RCPT | mc.SMFIP_NR_HDR | mc.SMFIP_NR_EOH |
                mc.SMFIP_NR_BODY | mc.SMFIP_HDR_LEADSPC)
        assert c.protocol & need == need, hex(c.protocol)
        # RCPT is taken (history envelope_to, issue 13)
        assert not c.protocol & mc.SMFIP_NORCPT, hex(c.protocol)
        r1 = c.read_eom()
        r1.headers_sent = h1
        r2 = c.read_eom()
        r2.headers_sent = h2
        rest = closed_by_daemon(c.sock)      # 'Q': nothing more, then EOF
    finally:
        c.close()
    assert rest == b"", rest
    assert_ar(accepted_ar(r1), PASS_AR)
    rejected(r2)
    assert em.summary(q1)["client"] == GOOD_IP
    assert em.summary(q2)["client"] == BAD_IP


# ------------------------------------------------------------ 7. big bodies

def big_body(n_lines=4000):
    lines = ["line %05d of a long body, with some text to fill it up to "
             "a decent length .........." % i for i in range(n_lines)]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("chunk,eom_tail,canon", [
    (mc.MAX_CHUNK, 1234, "relaxed"),
    (mc.MAX_CHUNK, 0, "simple"),
    (4093, 777, "simple"),
], ids=["max-chunks+eom-data", "max-chunks", "odd-chunks+eom-data"])
@pytest.mark.parametrize("tamper", [False, True], ids=["intact", "tampered"])
def test_big_body_many_chunks(em, keys, chunk, eom_tail, canon, tamper):
    """a body of several chunks, the last bytes possibly inside EOM: the
    DKIM body hash covers all of them (a byte changed in a middle chunk
    fails it)"""
    if eom_tail and ENGINE == "libmilter":
        pytest.skip(LM_EOM_BODY)
    msg = sign(make_msg(from_="user@example.org", body=big_body()), "rsa",
               "example.org", keys.rsa_key, hcanon=canon, bcanon=canon)
    headers, body = split_message(msg)
    assert len(body) > 3 * mc.MAX_CHUNK
    if tamper:
        pos = 2 * chunk + 100 if chunk < mc.MAX_CHUNK else mc.MAX_CHUNK + 100
        body = body[:pos] + (b"X" if body[pos:pos + 1] != b"X" else b"Y") + \
            body[pos + 1:]
    qid = new_qid()
    cut = len(body) - eom_tail
    with mc.MilterClient(em.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        c.mail("<user@example.org>", macros={"i": qid})
        c.rcpt("<rcpt@example.net>")
        for n, v in headers:
            c.header(n, v)
        c.eoh()
        nchunks = 0
        for i in range(0, cut, chunk):
            c._send(b"B", body[i:min(i + chunk, cut)])
            nchunks += 1
            if not c.has(mc.SMFIP_NR_BODY):
                assert c._answer("body") is None
        assert nchunks >= 4
        res = c.eom(macros={"i": qid}, data=body[cut:])
        c.quit()
    res.headers_sent = headers
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
                   ("dkim", "fail" if tamper else "pass",
                    {"header.d": "example.org"}),
                   ("dmarc", "pass", {"header.from": "example.org"})])


# ---------------------------------------------------------- 8. macro names

@pytest.mark.parametrize("name,stage", [
    ("{auth_authen}", b"M"), ("auth_authen", b"M"), (None, None),
], ids=["braces", "bare", "control"])
def test_auth_macro_with_and_without_braces(em, name, stage):
    """the MTA may name a macro {auth_authen} or auth_authen; both make the
    client exempt (the control without it is rejected).  Callbacks read it
    at MAIL, so only a MAIL-stage macro can exempt."""
    qid = new_qid()
    mmac = {"i": qid}
    if stage == b"M":
        mmac[name] = "alice"
    emac = {"i": qid}
    if stage == b"E":
        emac[name] = "alice"
    headers, body = split_message(failing_msg())
    with mc.MilterClient(em.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, BAD_IP)
        c.mail("<user@example.org>", macros=mmac)
        c.rcpt("<rcpt@example.net>")
        for n, v in headers:
            c.header(n, v)
        c.eoh()
        c.body(body)
        res = c.eom(macros=emac)
        res.headers_sent = headers
        c.quit()
    if stage == b"M":
        assert_exempt(accepted_ar(res))
    else:
        rejected(res)


@engine_only("builtin", "the built-in engine's 8 KiB per stage "
             "(ENGINE_MACROS_MAX); libmilter takes macros up to its packet "
             "size")
def test_oversized_macro_packet(em):
    """a macro packet beyond the engine's 8 KiB per stage (ENGINE_MACROS_MAX)
    is dropped, logged: that message has no {auth_authen} (so no exemption:
    rejected), and the next message's macros work again"""
    with mc.MilterClient(em.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, BAD_IP)
        q1, q2 = new_qid(), new_qid()
        r1 = mc.transaction(c, failing_msg(), mailfrom="<user@example.org>",
                            queue_id=q1)
        rejected(r1)
        headers, body = split_message(failing_msg())
        c.mail("<user@example.org>", macros={"i": q2, "{auth_authen}": "alice",
                                              "{pad}": "x" * 70000})
        c.rcpt("<rcpt@example.net>")
        for n, v in headers:
            c.header(n, v)
        c.eoh()
        c.body(body)
        r2 = c.eom()
        rejected(r2)
        # and again with normal macros: exempt
        r3 = mc.transaction(c, failing_msg(), mailfrom="<user@example.org>",
                            queue_id=new_qid(), auth_authen="alice")
        assert_exempt(accepted_ar(r3))
        c.quit()
    assert wait_for(lambda: "macros for stage M, more than 8192: dropped"
                    in em.log(), 2), em.log()[-2000:]
    good(em)


# -------------------------------------------------------- 9. concurrency

def test_many_concurrent_connections(em):
    n = 64
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def one(i):
        try:
            barrier.wait(10)
            client = GOOD_IP if i % 2 == 0 else BAD_IP
            results[i] = (client, em.send(failing_msg(),
                                          mailfrom="<user@example.org>",
                                          client_addr=client))
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for client, res in results:
        if client == GOOD_IP:
            assert_ar(accepted_ar(res), PASS_AR)
        else:
            rejected(res)
        s = em.summary(res.qid)
        assert s["client"] == client, s["line"]


@engine_only("builtin", "libmilter's worker pool: a connection that sent "
             "part of a packet holds a worker in read() until its 600 s "
             "timeout, and a new session can wait behind them (README)")
def test_idle_connections_do_not_block_others(em):
    """MTA connections that say nothing (or half a packet) hold a worker
    each, never the others: a transaction still completes at once"""
    idle = []
    try:
        for i in range(40):
            s = raw_conn(em.spec)
            if i % 2:
                s.sendall(optneg_pkt()[:7])
            idle.append(s)
        t0 = time.monotonic()
        good(em, timeout=5)
        assert time.monotonic() - t0 < 5
    finally:
        for s in idle:
            s.close()
    good(em)


@engine_only("builtin", "libmilter's workers wait on its own queue, not "
             "on the listening socket")
def test_stop_wakes_every_idle_worker(milters):
    """idle workers wait on the listening socket themselves (engine.c:
    one epoll set, the stop pipe in it): after a burst of 60 connections
    left ~60 of them waiting there, SIGTERM must wake every one, close
    the socket and exit 0 within a few seconds, not leave the socket open
    for workers that missed the stop (logged) or wait for their 60 s idle
    timeout"""
    m = milters.new("stopwake").start()
    n = 60
    barrier = threading.Barrier(n)
    socks, errors = [None] * n, []

    def one(i):
        try:
            s = raw_conn(m.spec)
            barrier.wait(10)
            s.sendall(optneg_pkt())
            assert s.recv(4), "no OPTNEG reply"
            socks[i] = s
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    workers = threads_of(m.proc.pid)
    for s in socks:
        if s is not None:
            s.close()
    assert not errors, errors
    assert workers >= n, "a worker per connection: %d threads" % workers
    # the workers are back on the socket: one of them takes this one
    accepted_ar(m.send(make_msg(from_="user@example.org"),
                       mailfrom="<user@example.org>", client_addr=GOOD_IP))
    t0 = time.monotonic()
    rc = stop(m)
    took = time.monotonic() - t0
    log = m.log()
    assert rc == 0, "exit status %s:\n%s" % (rc, log[-2000:])
    assert took < 5, "stop took %.1f s" % took
    assert "still wait on the listening socket" not in log, log[-2000:]
    assert "still busy at exit" not in log, log[-2000:]


# ------------------------------------------------------------ 10. listener

def run_expect_exit(authmilter_bin, conf, timeout=10):
    """start a daemon that must fail at start; (rc, stderr)"""
    p = subprocess.Popen([authmilter_bin, "-f", "-c", conf],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        pytest.fail("daemon did not exit at start (it should have failed): "
                    "%s" % err[-2000:])
    return p.returncode, err


def stop(m):
    """SIGTERM a daemon started here, kill it if it lingers; exit status"""
    if m.proc is None:
        return None
    m.terminate()
    rc = m.wait(10)
    if rc is None:
        m.kill()
        m.returncode = -9
    return rc


@pytest.fixture
def sockdir():
    """short path (sun_path is 108 bytes; pytest's tmp paths are long)"""
    d = tempfile.mkdtemp(prefix="am-eng-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_second_daemon_on_live_socket(milters, authmilter_bin, sockdir):
    path = os.path.join(sockdir, "live.sock")
    spec = "unix:" + path
    first = milters.new("live1", [("Socket", spec)])
    second = milters.new("live2", [("Socket", spec)])
    try:
        first.start()
        good(first)
        rc, err = run_expect_exit(authmilter_bin, second.conf)
        assert rc == 71, (rc, err)
        assert "in use" in err and path in err, err
        # the second did not take the socket file away
        assert os.path.exists(path)
        good(first)
        good(first)
    finally:
        rc = stop(first)
    assert rc == 0, first.log()[-2000:]
    assert not os.path.exists(path), "socket file left after SIGTERM"


def test_stale_socket_replaced(milters, sockdir):
    path = os.path.join(sockdir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    m = milters.new("stale", [("Socket", "local:" + path)])
    try:
        m.start()
        good(m)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        rc = stop(m)
    assert rc == 0, m.log()[-2000:]


@pytest.mark.parametrize("content", [b"precious data\n", b""],
                         ids=["regular-file", "empty-file"])
def test_regular_file_at_socket_path(milters, authmilter_bin, sockdir,
                                     content):
    path = os.path.join(sockdir, "file.sock")
    with open(path, "wb") as f:
        f.write(content)
    m = milters.new("regfile", [("Socket", "unix:" + path)])
    rc, err = run_expect_exit(authmilter_bin, m.conf)
    assert rc == 71, (rc, err)
    assert "not a socket" in err, err
    with open(path, "rb") as f:
        assert f.read() == content, "the file at the socket path was touched"


def test_directory_at_socket_path(milters, authmilter_bin, sockdir):
    path = os.path.join(sockdir, "dir.sock")
    os.mkdir(path)
    m = milters.new("dirsock", [("Socket", "unix:" + path)])
    rc, err = run_expect_exit(authmilter_bin, m.conf)
    assert rc == 71, (rc, err)
    assert os.path.isdir(path)


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_inet6_loopback(milters):
    m = milters.new("inet6", [("Socket", "inet6:%d@[::1]" % free_port())])
    try:
        m.start()
        good(m)
        # it listens on ::1 only, not on 127.0.0.1
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.settimeout(1)
        try:
            with pytest.raises(OSError):
                t.connect(("127.0.0.1", int(m.spec.split(":")[1]
                                            .split("@")[0])))
        finally:
            t.close()
    finally:
        rc = stop(m)
    assert rc == 0, m.log()[-2000:]


def test_inet_port_in_use(milters, authmilter_bin):
    """a TCP port somebody listens on: exit 71 with the reason"""
    hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hold.bind(("127.0.0.1", 0))
    hold.listen(1)
    port = hold.getsockname()[1]
    try:
        m = milters.new("portbusy", [("Socket", "inet:%d@127.0.0.1" % port)])
        rc, err = run_expect_exit(authmilter_bin, m.conf)
    finally:
        hold.close()
    assert rc == 71, (rc, err)
    assert "in use" in err.lower(), err
