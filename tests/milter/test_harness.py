"""Self-tests of the harness: nsd serves the zone, the keys and the
independent signer produce signatures dkimpy verifies against that zone, and
the milter client speaks the protocol (against a fake filter written here).
None of these need the authmilter binary."""

import socket
import struct
import threading
import time

import dkim
import pytest

import milterclient as mc
from conftest import make_msg, sign, BlackHole


# ---------------------------------------------------------------- DNS, keys

def test_nsd_serves_zone(nsd, keys):
    rcode, rds = nsd.query("example.org", "TXT")
    assert rcode == "NOERROR"
    assert [b"".join(rd.strings) for rd in rds] == [
        b"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"]
    # the RSA-2048 key is split into several strings, joined it is the key
    rcode, rds = nsd.query("rsa._domainkey.example.org", "TXT")
    assert len(rds) == 1 and len(rds[0].strings) > 1
    assert all(len(s) <= 255 for s in rds[0].strings)
    assert b"".join(rds[0].strings) == keys.rsa_txt.encode()
    assert nsd.query("nonexistent.example.com", "A")[0] == "NXDOMAIN"
    assert nsd.query("_dmarc.com", "TXT")[0] == "NXDOMAIN"
    assert nsd.query("a.b.c.example.com", "A")[0] == "NOERROR"


@pytest.mark.parametrize("selector,keyattr,alg,canon", [
    ("rsa", "rsa_key", "rsa-sha256", ("relaxed", "relaxed")),
    ("rsa", "rsa_key", "rsa-sha256", ("simple", "simple")),
    ("ed", "ed_key", "ed25519-sha256", ("relaxed", "relaxed")),
])
def test_signer_verifies_against_zone(nsd, keys, selector, keyattr, alg,
                                      canon):
    msg = sign(make_msg(), selector, "example.org", getattr(keys, keyattr),
               signalg=alg, hcanon=canon[0], bcanon=canon[1])
    assert dkim.verify(msg, dnsfunc=lambda name, timeout=5: nsd.txt(name))
    bad = msg.replace(b"this is a test message", b"this is a forged message")
    assert not dkim.verify(bad, dnsfunc=lambda name, timeout=5: nsd.txt(name))


def test_mismatched_and_short_keys(nsd, keys):
    dnsfunc = lambda name, timeout=5: nsd.txt(name)  # noqa: E731
    msg = sign(make_msg(), "bad", "example.org", keys.rsa_other_key)
    assert not dkim.verify(msg, dnsfunc=dnsfunc)
    msg = sign(make_msg(), "short", "example.org", keys.short_key)
    assert not dkim.verify(msg, dnsfunc=dnsfunc)            # minkey 1024
    assert dkim.verify(msg, dnsfunc=dnsfunc, minkey=512)    # but it is valid


def test_blackhole_never_answers():
    bh = BlackHole()
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        s.sendto(b"\0" * 12, ("127.0.0.1", bh.port))
        with pytest.raises(socket.timeout):
            s.recvfrom(512)
        s.close()
    finally:
        bh.close()
    assert bh.queries == 1


# ---------------------------------------------------------------- client

class FakeFilter:
    """A filter of a few dozen lines: negotiates the given steps, records
    every packet, answers 'c' where a reply is due, and at EOM sends the
    given modification packets and final answer."""

    def __init__(self, steps, actions, eom_packets, answer_all=False):
        self.steps = steps
        self.answer_all = answer_all
        self.actions = actions
        self.eom_packets = eom_packets
        self.got = []
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.error = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def recv(self, conn, n):
        buf = b""
        while len(buf) < n:
            part = conn.recv(n - len(buf))
            if not part:
                raise EOFError
            buf += part
        return buf

    def send(self, conn, code, data=b""):
        conn.sendall(struct.pack("!I", len(data) + 1) + code + data)

    def run(self):
        conn, _ = self.srv.accept()
        noreply = {b"C": mc.SMFIP_NR_CONN, b"H": mc.SMFIP_NR_HELO,
                   b"M": mc.SMFIP_NR_MAIL, b"R": mc.SMFIP_NR_RCPT,
                   b"T": mc.SMFIP_NR_DATA, b"L": mc.SMFIP_NR_HDR,
                   b"N": mc.SMFIP_NR_EOH, b"B": mc.SMFIP_NR_BODY}
        try:
            while True:
                (n,) = struct.unpack("!I", self.recv(conn, 4))
                pkt = self.recv(conn, n)
                code, data = pkt[:1], pkt[1:]
                self.got.append((code, data))
                if code == b"O":
                    extra = struct.pack("!I", 2) + b"i {auth_authen}\0"
                    self.send(conn, b"O", struct.pack(
                        "!III", 6, self.actions, self.steps) + extra)
                elif code == b"E":
                    for c, d in self.eom_packets:
                        self.send(conn, c, d)
                elif code == b"Q":
                    break
                elif code in noreply and (self.answer_all or
                                          not self.steps & noreply[code]):
                    self.send(conn, b"c")
        except Exception as e:  # noqa: BLE001
            self.error = e
        finally:
            conn.close()
            self.srv.close()

    def commands(self, code):
        return [d for c, d in self.got if c == code]


def ins(idx, name, value):
    return b"i", struct.pack("!I", idx) + name + b"\0" + value + b"\0"


def chg(idx, name, value):
    return b"m", struct.pack("!I", idx) + name + b"\0" + value + b"\0"


MSG = (b"Authentication-Results: mx.authmilter.example; spf=pass\r\n"
       b"Subject:  two  spaces\r\n"
       b"X-Folded: first\r\n\tsecond\r\n"
       b"Authentication-Results: other.example; spf=pass\r\n"
       b"Authentication-Results: MX.AUTHMILTER.EXAMPLE; dkim=pass\r\n"
       b"From: user@example.org\r\n"
       b"\r\n"
       b"body line\r\n")


def test_client_leadspc_nr_and_ops():
    steps = (mc.SMFIP_NR_CONN | mc.SMFIP_NR_HELO | mc.SMFIP_NR_MAIL |
             mc.SMFIP_NR_HDR | mc.SMFIP_NR_EOH | mc.SMFIP_NR_BODY |
             mc.SMFIP_NORCPT | mc.SMFIP_NODATA | mc.SMFIP_HDR_LEADSPC)
    f = FakeFilter(steps, mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS |
                   mc.SMFIF_QUARANTINE, [
                       (b"p", b""),
                       chg(3, b"Authentication-Results", b""),
                       chg(1, b"Authentication-Results", b""),
                       ins(0, b"Authentication-Results",
                           b"mx.authmilter.example;\n\tspf=pass"),
                       (b"h", b"X-Added\0yes\0"),
                       (b"q", b"held for review\0"),
                       (b"c", b""),
                   ])
    res = mc.run_transaction("inet:%d@127.0.0.1" % f.port, MSG,
                             queue_id="Q1", auth_authen="alice",
                             client_addr="192.0.2.10")
    f.t.join(5)
    assert f.error is None
    assert res.action == "continue" and res.progress == 1
    assert res.quarantine == "held for review"
    # steps negotiated away were not sent
    assert not f.commands(b"R") and not f.commands(b"T")
    # header values exactly as in the message, folding as LF
    hdrs = [tuple(d.split(b"\0")[:2]) for d in f.commands(b"L")]
    assert (b"Subject", b"  two  spaces") in hdrs
    assert (b"X-Folded", b" first\n\tsecond") in hdrs
    # connect packet: hostname, family, port, address
    (conn,) = f.commands(b"C")
    assert conn == (b"mail.example.org\0" + b"4" + struct.pack("!H", 40000) +
                    b"192.0.2.10\0")
    macros = f.commands(b"D")
    assert b"M" + b"i\0Q1\0{auth_authen}\0alice\0" in macros
    assert any(m.startswith(b"C") and b"j\0" in m and b"{daemon_name}\0" in m
               for m in macros)
    assert any(m == b"Ei\0Q1\0" for m in macros)
    assert any(m == b"Ni\0Q1\0" for m in macros)
    # header operations, in order, and their effect
    assert res.ops == [
        mc.HeaderOp("change", 3, "Authentication-Results", ""),
        mc.HeaderOp("change", 1, "Authentication-Results", ""),
        mc.HeaderOp("insert", 0, "Authentication-Results",
                    "mx.authmilter.example;\n\tspf=pass"),
        mc.HeaderOp("add", None, "X-Added", "yes"),
    ]
    delivered = res.apply(res.headers_sent)
    assert [n for n, _ in delivered] == [
        "Authentication-Results", "Subject", "X-Folded",
        "Authentication-Results", "From", "X-Added"]
    assert delivered[0][1].startswith("mx.authmilter.example;")
    assert delivered[3][1] == " other.example; spf=pass"


def test_client_without_leadspc_and_with_replies():
    f = FakeFilter(0, mc.SMFIF_ADDHDRS, [(b"y", b"550 5.7.26 no\0")])
    res = mc.run_transaction("inet:%d@127.0.0.1" % f.port, MSG,
                             queue_id="Q2")
    f.t.join(5)
    assert f.error is None
    assert res.action == "replycode" and res.reply == "550 5.7.26 no"
    assert res.rejected and res.reply_code == "550"
    hdrs = [tuple(d.split(b"\0")[:2]) for d in f.commands(b"L")]
    # without HDR_LEADSPC one space after the colon is dropped, as Postfix
    # (milter8.c milter8_header) and sendmail (milter.c) drop it
    assert (b"Subject", b" two  spaces") in hdrs
    assert (b"X-Folded", b"first\n\tsecond") in hdrs
    assert f.commands(b"R") and f.commands(b"T")   # not negotiated away
    assert res.client.symlists == {"mail": ["i", "{auth_authen}"]}


def test_client_body_chunks():
    body = (b"x" * 99 + b"\r\n") * 1500          # 151500 bytes
    f = FakeFilter(mc.SMFIP_NR_BODY, 0, [(b"a", b"")])
    res = mc.run_transaction("inet:%d@127.0.0.1" % f.port,
                             ([("From", " a@example.org")], body))
    f.t.join(5)
    chunks = f.commands(b"B")
    assert [len(c) for c in chunks] == [65535, 65535, 151500 - 2 * 65535]
    assert b"".join(chunks) == body
    assert res.action == "accept"


def test_client_detects_reply_to_noreply_step():
    # the filter negotiates NR_CONN but answers connect anyway
    f = FakeFilter(mc.SMFIP_NR_CONN, 0, [(b"a", b"")], answer_all=True)
    c = mc.MilterClient("inet:%d@127.0.0.1" % f.port, timeout=5)
    c.optneg()
    assert c.connect("h", "4", 1, "192.0.2.1") is None
    time.sleep(0.2)
    with pytest.raises(mc.MilterError, match="unexpected data"):
        c.helo("h")
    c.close()


def test_apply_semantics():
    r = mc.MilterResult("eom")
    r.ops = [mc.HeaderOp("change", 2, "X-A", ""),
             mc.HeaderOp("change", 1, "x-a", " new"),
             mc.HeaderOp("insert", 0, "Top", " t"),
             mc.HeaderOp("insert", 99, "End", " e"),
             mc.HeaderOp("change", 5, "X-A", "")]
    out = r.apply([("X-A", " 1"), ("B", " b"), ("X-A", " 2"), ("X-A", " 3")])
    assert out == [("Top", " t"), ("X-A", " new"), ("B", " b"),
                   ("X-A", " 3"), ("End", " e")]
