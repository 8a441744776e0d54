#!/usr/bin/python3
"""Write the seed corpus of fuzz_engine and fuzz_engine_daemon (run once;
seeds are committed):
    tests/fuzz/make_engine_seeds.py tests/fuzz/corpus/fuzz_engine
    tests/fuzz/make_engine_seeds.py tests/fuzz/corpus/fuzz_engine_daemon

Each seed is the byte stream an MTA writes on one milter connection, made
by the project's milter client (tests/milter/milterclient.py) with its
socket replaced by a recorder: the same packets, macros, header folding,
body chunking and SMFIP_NR_*/NO* handling as in the milter tier, without a
filter answering.  The fuzz filter (fuzz_engine.c) takes every step offered,
so the offer in each seed's OPTNEG decides which steps get replies.
Arguments starting with '+', '!', '?', '*' make the fuzz filter accept,
reject, tempfail or reject with a reply text.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))

import dkim  # noqa: E402
import milterclient as mc  # noqa: E402


# the steps the MTA would leave out: never offered here (the fuzz filter
# takes what is offered, and the recorder then leaves those steps out)
NO_ALL = (mc.SMFIP_NOCONNECT | mc.SMFIP_NOHELO | mc.SMFIP_NOMAIL |
          mc.SMFIP_NORCPT | mc.SMFIP_NOBODY | mc.SMFIP_NOHDRS |
          mc.SMFIP_NOEOH | mc.SMFIP_NOUNKNOWN | mc.SMFIP_NODATA)
OFFER = mc.SMFIP_ALL & ~NO_ALL

class Recorder(mc.MilterClient):
    """A MilterClient that writes packets into a buffer and reads nothing:
    every step is taken as answered with 'continue'."""

    def __init__(self):            # no socket
        self.out = bytearray()
        self.version = None
        self.actions = 0
        self.protocol = 0
        self.symlists = {}
        self.log = []

    def _send(self, code, data=b""):
        self.out += struct.pack("!I", len(data) + 1) + code + data

    def _answer(self, stepname):
        return None

    def read_eom(self):
        return None

    def optneg(self, actions=mc.SMFIF_ALL, protocol=OFFER,
               version=mc.MILTER_VERSION):
        self._send(mc.SMFIC_OPTNEG, struct.pack("!III", version, actions,
                                                protocol))
        self.version, self.actions, self.protocol = version, actions, protocol

    def raw(self, code, data=b""):
        self._send(code, data)

    def close(self):
        pass


MSG = (b"Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n"
       b"\tby mx.example.net; Tue, 24 Nov 2026 12:00:00 +0000\r\n"
       b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
       b"Subject: hello\r\n"
       b"Authentication-Results: mx.authmilter.example; dkim=pass\r\n"
       b"X-Del: one\r\nX-Del: two\r\n"
       b"Date: Tue, 24 Nov 2026 12:00:00 +0000\r\n"
       b"Message-ID: <seed@example.org>\r\n\r\n"
       b"Hello,\r\n\r\nthis is a seed.\r\n")

NR_ALL = (mc.SMFIP_NR_CONN | mc.SMFIP_NR_HELO | mc.SMFIP_NR_MAIL |
          mc.SMFIP_NR_RCPT | mc.SMFIP_NR_DATA | mc.SMFIP_NR_UNKN |
          mc.SMFIP_NR_EOH | mc.SMFIP_NR_BODY | mc.SMFIP_NR_HDR)


def connect(c, family="4", addr="192.0.2.10", port=40000,
            name="mail.example.org"):
    c.connect(name, family, port, addr,
              macros={"j": "mx.authmilter.example",
                      "{daemon_name}": "smtpd", "_": name + " [" + addr + "]"})


def message(c, msg=MSG, mailfrom="<alice@example.org>", args=(),
            qid="4QSEED1", auth=None, eom_data=b""):
    headers, body = mc.split_message(msg)
    c.mail(mailfrom, args=args, macros={"i": qid, "{auth_authen}": auth,
                                        "{mail_addr}": mailfrom.strip("<>")})
    c.rcpt("<bob@example.net>", macros={"{rcpt_addr}": "bob@example.net"})
    c.rcpt("<carol@example.net>", args=("NOTIFY=NEVER",))
    c.data(macros={"i": qid})
    for name, value in headers:
        c.header(name, value)
    c.eoh(macros={"i": qid})
    c.body(body)
    c.eom(macros={"i": qid}, data=eom_data)


def seeds():
    """(name, bytes) of every seed"""
    out = []

    def add(name, build):
        c = Recorder()
        build(c)
        out.append((name, bytes(c.out)))

    def v6_all(c):
        c.optneg()
        connect(c)
        c.helo("mail.example.org")
        message(c)
        c.quit()
    add("v6-inet", v6_all)

    def v6_inet6(c):
        c.optneg(protocol=OFFER & ~NR_ALL)
        connect(c, "6", "2001:db8::10")
        c.helo("[IPv6:2001:db8::10]")
        message(c, mailfrom="<j\u00f6rg@example.org>",
                args=("SMTPUTF8", "BODY=8BITMIME", "SIZE=1000"))
        c.quit()
    add("v6-inet6-noNR", v6_inet6)

    def v6_unix(c):
        c.optneg(protocol=mc.SMFIP_HDR_LEADSPC | mc.SMFIP_NR_HDR)
        connect(c, "L", "/var/run/socket", 0, "localhost")
        c.helo("localhost")
        message(c, auth="alice")
        c.quit()
    add("v6-unix-leadspc", v6_unix)

    def v6_unknown(c):
        c.optneg()
        c.connect("unknown", "U", 0, "")
        c.helo("!reject.example")
        c.quit()
    add("v6-unknown-family", v6_unknown)

    def v2(c):
        c.optneg(actions=mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS,
                 protocol=0, version=2)
        connect(c)
        c.helo("mail.example.org")
        message(c)
        c.quit()
    add("v2", v2)

    def abort_mid_body(c):
        c.optneg()
        connect(c)
        c.helo("mail.example.org")
        headers, _ = mc.split_message(MSG)
        c.mail("<alice@example.org>", macros={"i": "Q1"})
        c.rcpt("<bob@example.net>")
        for name, value in headers:
            c.header(name, value)
        c.eoh()
        c.body(b"first part\r\n" * 50)
        c.abort()
        message(c, qid="Q2")
        c.quit()
    add("abort-mid-body", abort_mid_body)

    def quit_nc(c):
        c.optneg()
        connect(c)
        c.helo("one.example.org")
        message(c, qid="Q1")
        c.quit_nc()
        connect(c, "6", "2001:db8::20", name="two.example.org")
        c.helo("two.example.org")
        message(c, qid="Q2")
        c.quit_nc()
        connect(c, "4", "198.51.100.20", name="three.example.org")
        c.quit()
    add("quit-nc", quit_nc)

    def verdicts(c):
        c.optneg()
        connect(c)
        c.helo("mail.example.org")
        message(c, msg=MSG.replace(b"Subject: hello",
                                   b"Subject: ?451 try later"))
        message(c, mailfrom="<*550 go away@example.org>")
        message(c, msg=MSG.replace(b"Subject: hello",
                                   b"X-Fuzz-Eom: !\r\nSubject: x"))
        message(c, msg=MSG.replace(b"Subject: hello",
                                   b"X-Fuzz-Eom: *bad\r\nSubject: x"))
        message(c, msg=MSG.replace(b"Subject: hello",
                                   b"X-Fuzz-Eom: +\r\nSubject: x"))
        message(c, msg=MSG.replace(b"Hello,", b"!Hello,"))
        c.quit()
    add("verdicts", verdicts)

    def nr_verdicts(c):
        c.optneg(protocol=OFFER)
        connect(c, name="+accept.example")
        c.helo("mail.example.org")
        message(c, msg=MSG.replace(b"Subject: hello", b"Subject: !no"))
        message(c, msg=MSG.replace(b"Hello,", b"?451 later"))
        c.quit()
    add("nr-verdicts", nr_verdicts)

    def big_body(c):
        c.optneg()
        connect(c)
        c.helo("mail.example.org")
        chunk = mc.MAX_CHUNK
        mc.MAX_CHUNK = 16384    # several body packets, under -max_len
        message(c, msg=MSG + b"x" * 50000 + b"\r\n")
        mc.MAX_CHUNK = chunk
        c.quit()
    add("big-body", big_body)

    def eom_chunk(c):
        c.optneg()
        connect(c)
        c.helo("mail.example.org")
        message(c, eom_data=b"last chunk\r\n")
        c.raw(mc.SMFIC_UNKNOWN, b"VRFY root\0")
        c.quit()
    add("eom-chunk-unknown", eom_chunk)

    def no_actions(c):
        c.optneg(actions=0)
        connect(c)
        c.quit()
    add("no-actions", no_actions)

    def signed(c):
        key = open(os.path.join(HERE, "..", "unit", "data", "dkim",
                                "example.org-rs.private"), "rb").read()
        base = MSG.replace(b"Authentication-Results: mx.authmilter.example; "
                           b"dkim=pass\r\n", b"")
        sig = dkim.sign(base, b"rs", b"example.org", key,
                        include_headers=[b"from", b"to", b"subject"])
        c.optneg()
        connect(c)
        c.helo("mail.example.org")
        message(c, msg=sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                + base)
        c.quit()
    add("dkim-signed", signed)

    def macros_only(c):
        c.optneg()
        for stage in "CHMRTNLEX":
            c.macros(stage.encode(), {"i": "Q" + stage, "{x}": "y" * 40})
        c.raw(mc.SMFIC_MACRO, b"")
        connect(c)
        c.quit()
    add("macros", macros_only)
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
