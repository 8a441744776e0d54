"""milterclient - a small milter protocol (version 6) client, Python 3 stdlib.

It plays the MTA's side of the conversation well enough to drive a filter
through whole SMTP transactions and to collect what the filter asks for at
end of message:

    c = MilterClient("inet:8891@127.0.0.1")     # or "unix:/path", "/path"
    c.optneg()                                   # offer every action and step
    c.connect("mail.example.org", "4", 4567, "192.0.2.10",
              macros={"j": "mx.example", "{daemon_name}": "smtpd"})
    c.helo("mail.example.org")
    c.mail("<user@example.org>", macros={"i": "QID1"})
    c.rcpt("<rcpt@example.net>")
    for name, value in headers: c.header(name, value)
    c.eoh(macros={"i": "QID1"})
    c.body(body_bytes)
    res = c.eom(macros={"i": "QID1"})           # -> MilterResult
    c.quit()

or all of it at once with run_transaction().  A step returns None when the
filter let the transaction go on (it answered "continue", or nothing because
it negotiated SMFIP_NR_* for that step, or the step was skipped because it
negotiated SMFIP_NO*), and a MilterResult when the filter gave a final answer
(accept, reject, tempfail, discard, reply code).

What the filter asked for at negotiation is honoured:
  - SMFIP_NO<step>: the step is not sent;
  - SMFIP_NR_<step>: no reply is read for it;
  - SMFIP_HDR_LEADSPC: header values are sent exactly as they follow the
    colon in the message (leading whitespace kept); without it one space
    (not a tab) right after the colon is dropped, as Postfix
    (src/milter/milter8.c milter8_header) and sendmail (milter.c
    milter_headers) do.
Folded header values are sent with "\\n" line breaks, as Postfix and sendmail
send them; body chunks are sent as given (CRLF lines), at most 65535 bytes
each.
"""

import select
import socket
import struct

# commands (MTA -> filter), mfdef.h
SMFIC_ABORT = b"A"
SMFIC_BODY = b"B"
SMFIC_CONNECT = b"C"
SMFIC_MACRO = b"D"
SMFIC_BODYEOB = b"E"
SMFIC_HELO = b"H"
SMFIC_HEADER = b"L"
SMFIC_MAIL = b"M"
SMFIC_EOH = b"N"
SMFIC_OPTNEG = b"O"
SMFIC_QUIT = b"Q"
SMFIC_QUIT_NC = b"K"
SMFIC_RCPT = b"R"
SMFIC_DATA = b"T"
SMFIC_UNKNOWN = b"U"

# actions (SMFIF_*)
SMFIF_ADDHDRS = 0x01
SMFIF_CHGBODY = 0x02
SMFIF_ADDRCPT = 0x04
SMFIF_DELRCPT = 0x08
SMFIF_CHGHDRS = 0x10
SMFIF_QUARANTINE = 0x20
SMFIF_CHGFROM = 0x40
SMFIF_ADDRCPT_PAR = 0x80
SMFIF_SETSYMLIST = 0x100
SMFIF_ALL = 0x1FF

# protocol steps (SMFIP_*)
SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOMAIL = 0x4
SMFIP_NORCPT = 0x8
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_SKIP = 0x400
SMFIP_RCPT_REJ = 0x800
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_UNKN = 0x20000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000
SMFIP_ALL = 0x1FFFFF  # every step flag an MTA of protocol 6 understands

MILTER_VERSION = 6
MAX_CHUNK = 65535

# final answers (filter -> MTA)
FINAL = {
    b"a": "accept",
    b"c": "continue",
    b"r": "reject",
    b"t": "tempfail",
    b"d": "discard",
    b"y": "replycode",
    b"f": "connfail",
    b"4": "shutdown",
    b"s": "skip",
}
# other modification messages (recipients, sender, body), end of message only
MODS = (b"+", b"-", b"2", b"e", b"b")

# macro stage numbers used in the OPTNEG macro lists (SMFIM_*)
STAGES = {0: "connect", 1: "helo", 2: "mail", 3: "rcpt", 4: "data",
          5: "eom", 6: "eoh"}


class MilterError(Exception):
    """The filter broke the protocol, hung up or did not answer in time."""


class HeaderOp:
    """One header modification: kind is 'add' ('h'), 'insert' ('i') or
    'change' ('m'); index is None for add, else as sent.  raw is the value
    as sent; value is what follows "Name: " in the message.  Under
    SMFIP_HDR_LEADSPC the MTA (Postfix, sendmail) adds no space after the
    colon of a header the filter adds, so raw must bring its own: value is
    then raw less that one space (and an add without it is flagged by
    leadspc_ok = False)."""

    def __init__(self, kind, index, name, value, leadspc=False):
        self.kind = kind
        self.index = index
        self.name = name
        self.raw = value
        self.leadspc_ok = True
        if leadspc and value:
            self.leadspc_ok = value[0] in " \t"
            if value[0] == " ":
                value = value[1:]
        self.value = value

    def __repr__(self):
        return "HeaderOp(%r, %r, %r, %r)" % (self.kind, self.index,
                                            self.name, self.value)

    def __eq__(self, other):
        return (isinstance(other, HeaderOp) and
                (self.kind, self.index, self.name.lower(), self.value) ==
                (other.kind, other.index, other.name.lower(), other.value))


class MilterResult:
    """What the filter answered for a transaction.

    action: 'accept', 'continue', 'reject', 'tempfail', 'discard',
            'replycode', ...  (see FINAL)
    reply:  the text of an SMFIR_REPLYCODE ("550 5.7.26 ..."), or None
    ops:    list of HeaderOp in the order received
    quarantine: the quarantine reason, or None
    other:  list of (code, data) for modifications this client does not model
    progress: number of SMFIR_PROGRESS messages seen
    step:   the step that gave the final answer ('eom', 'connect', ...)
    """

    def __init__(self, step):
        self.step = step
        self.action = None
        self.reply = None
        self.ops = []
        self.quarantine = None
        self.other = []
        self.progress = 0

    @property
    def reply_shown(self):
        """the reply as the MTA sends it to the SMTP client: libmilter's
        smfi_setreply wants '%' doubled, and MTAs undo that"""
        return self.reply.replace("%%", "%") if self.reply else self.reply

    @property
    def reply_code(self):
        """'550' from '550 5.7.26 text', or None"""
        return self.reply.split(" ", 1)[0] if self.reply else None

    @property
    def rejected(self):
        return self.action == "reject" or (
            self.action == "replycode" and self.reply_code.startswith("5"))

    @property
    def tempfailed(self):
        return self.action == "tempfail" or (
            self.action == "replycode" and self.reply_code.startswith("4"))

    @property
    def delivered(self):
        """the MTA would deliver (possibly into its hold queue)"""
        return self.action in ("accept", "continue")

    def apply(self, headers):
        """Apply the header operations, in order, to a list of (name, value)
        and return the new list.  insert index 0 = top (an index past the
        end appends); change index N = the Nth header of that name,
        1-based, counted in the list as it is at that point; an empty value
        deletes it (a change of a missing header with a value adds it, as
        sendmail does; without a value it is a no-op)."""
        out = list(headers)
        for op in self.ops:
            if op.kind == "add":
                out.append((op.name, op.value))
            elif op.kind == "insert":
                out.insert(min(op.index, len(out)), (op.name, op.value))
            elif op.kind == "change":
                pos = _nth(out, op.name, op.index)
                if pos is None:
                    if op.value:
                        out.append((op.name, op.value))
                elif op.value == "":
                    del out[pos]
                else:
                    out[pos] = (out[pos][0], op.value)
        return out

    def __repr__(self):
        return ("MilterResult(step=%r, action=%r, reply=%r, quarantine=%r, "
                "ops=%r)" % (self.step, self.action, self.reply,
                             self.quarantine, self.ops))


def _nth(headers, name, n):
    """position of the nth (1-based) header called name, or None"""
    seen = 0
    for pos, (hname, _) in enumerate(headers):
        if hname.lower() == name.lower():
            seen += 1
            if seen == n:
                return pos
    return None


def _cstr(s):
    if isinstance(s, str):
        s = s.encode("utf-8", "surrogateescape")
    return s + b"\0"


def _split_cstrs(data):
    """b'a\\0b\\0' -> ['a', 'b']"""
    if not data.endswith(b"\0"):
        raise MilterError("string not NUL-terminated: %r" % data[:80])
    return [p.decode("utf-8", "surrogateescape") for p in data[:-1].split(b"\0")]


def parse_socket(spec):
    """'inet:PORT@HOST', 'inet6:PORT@HOST', 'unix:/path', 'local:/path' or a
    bare path -> (family, address)"""
    if spec.startswith(("inet:", "inet6:")):
        kind, rest = spec.split(":", 1)
        port, _, host = rest.partition("@")
        host = host or ("127.0.0.1" if kind == "inet" else "::1")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]           # inet6:8895@[::1]
        fam = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
        return fam, (host, int(port))
    if spec.startswith(("unix:", "local:")):
        return socket.AF_UNIX, spec.split(":", 1)[1]
    return socket.AF_UNIX, spec


class MilterClient:
    """One milter connection (one SMTP connection's worth of transactions)."""

    def __init__(self, spec, timeout=30.0):
        fam, addr = parse_socket(spec)
        self.timeout = timeout
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.version = None
        self.actions = 0
        self.protocol = 0
        self.symlists = {}
        self.log = []           # (direction, code, data) of every packet

    # -- framing ---------------------------------------------------------

    def _send(self, code, data=b""):
        self._check_quiet()
        pkt = struct.pack("!I", len(data) + 1) + code + data
        self.log.append((">", code, data))
        self.sock.sendall(pkt)

    def _recvn(self, n):
        buf = b""
        while len(buf) < n:
            try:
                part = self.sock.recv(n - len(buf))
            except socket.timeout:
                raise MilterError("no answer from the filter within %ss "
                                  "(last sent: %r)" % (self.timeout,
                                                       self._last_sent()))
            if not part:
                raise MilterError("filter closed the connection (last sent: "
                                  "%r)" % (self._last_sent(),))
            buf += part
        return buf

    def _recv(self):
        (length,) = struct.unpack("!I", self._recvn(4))
        if length < 1 or length > 64 * 1024 * 1024:
            raise MilterError("bad packet length %d" % length)
        pkt = self._recvn(length)
        self.log.append(("<", pkt[:1], pkt[1:]))
        return pkt[:1], pkt[1:]

    def _last_sent(self):
        for d, code, _ in reversed(self.log):
            if d == ">":
                return code
        return None

    def _check_quiet(self):
        """a filter must not talk while we have not asked it anything (it
        answered a step it negotiated as no-reply)"""
        if self.version is None:
            return
        r, _, _ = select.select([self.sock], [], [], 0)
        if r:
            try:
                peek = self.sock.recv(64, socket.MSG_PEEK)
            except OSError:
                peek = b""
            if peek:
                raise MilterError("unexpected data from the filter after %r: "
                                  "%r" % (self._last_sent(), peek))

    # -- negotiation -----------------------------------------------------

    def optneg(self, actions=SMFIF_ALL, protocol=SMFIP_ALL,
               version=MILTER_VERSION):
        """Offer actions and steps; remember what the filter chose."""
        self._send(SMFIC_OPTNEG, struct.pack("!III", version, actions,
                                             protocol))
        code, data = self._recv()
        if code != SMFIC_OPTNEG:
            raise MilterError("expected OPTNEG reply, got %r %r" % (code, data))
        if len(data) < 12:
            raise MilterError("short OPTNEG reply %r" % data)
        self.version, self.actions, self.protocol = struct.unpack(
            "!III", data[:12])
        if self.actions & ~actions:
            raise MilterError("filter asks for actions not offered: %#x"
                              % (self.actions & ~actions))
        if self.protocol & ~protocol:
            raise MilterError("filter asks for steps not offered: %#x"
                              % (self.protocol & ~protocol))
        rest = data[12:]
        while rest:
            if len(rest) < 5:
                raise MilterError("bad macro list in OPTNEG: %r" % rest)
            (stage,) = struct.unpack("!I", rest[:4])
            end = rest.index(b"\0", 4)
            self.symlists[STAGES.get(stage, stage)] = (
                rest[4:end].decode().split())
            rest = rest[end + 1:]
        return self.version, self.actions, self.protocol

    def has(self, flag):
        return bool(self.protocol & flag)

    # -- steps -----------------------------------------------------------

    def macros(self, cmd, macros):
        if not macros:
            return
        data = cmd
        for name, value in macros.items():
            if value is None:
                continue
            data += _cstr(name) + _cstr(value)
        self._send(SMFIC_MACRO, data)

    def _step(self, stepname, code, data, skipflag, nrflag, macros=None):
        if skipflag and self.has(skipflag):
            return None
        self.macros(code, macros)
        self._send(code, data)
        if nrflag and self.has(nrflag):
            return None
        return self._answer(stepname)

    def _answer(self, stepname):
        """read one answer to a step; None for continue"""
        while True:
            code, data = self._recv()
            if code == b"p":
                continue
            if code not in FINAL:
                raise MilterError("unexpected %r %r at %s" % (code, data,
                                                             stepname))
            if code == b"c":
                return None
            res = MilterResult(stepname)
            res.action = FINAL[code]
            if code == b"y":
                res.reply = _split_cstrs(data)[0]
            return res

    def connect(self, hostname, family, port, address, macros=None):
        """family: '4', '6', 'L' (unix) or 'U' (unknown)"""
        data = _cstr(hostname) + family.encode()
        if family != "U":
            data += struct.pack("!H", port) + _cstr(address)
        return self._step("connect", SMFIC_CONNECT, data, SMFIP_NOCONNECT,
                          SMFIP_NR_CONN, macros)

    def helo(self, name, macros=None):
        return self._step("helo", SMFIC_HELO, _cstr(name), SMFIP_NOHELO,
                          SMFIP_NR_HELO, macros)

    def mail(self, sender, args=(), macros=None):
        """sender with its angle brackets, e.g. '<user@example.org>', '<>'"""
        data = b"".join(_cstr(a) for a in [sender] + list(args))
        return self._step("mail", SMFIC_MAIL, data, SMFIP_NOMAIL,
                          SMFIP_NR_MAIL, macros)

    def rcpt(self, rcpt, args=(), macros=None):
        data = b"".join(_cstr(a) for a in [rcpt] + list(args))
        return self._step("rcpt", SMFIC_RCPT, data, SMFIP_NORCPT,
                          SMFIP_NR_RCPT, macros)

    def data(self, macros=None):
        return self._step("data", SMFIC_DATA, b"", SMFIP_NODATA,
                          SMFIP_NR_DATA, macros)

    def header(self, name, value, macros=None):
        """value: everything after the colon, as in the message (leading
        whitespace, folding with CRLF or LF)"""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "surrogateescape")
        value = value.replace("\r\n", "\n")
        if not self.has(SMFIP_HDR_LEADSPC) and value.startswith(" "):
            value = value[1:]       # one space, never a tab
        return self._step("header", SMFIC_HEADER, _cstr(name) + _cstr(value),
                          SMFIP_NOHDRS, SMFIP_NR_HDR, macros)

    def eoh(self, macros=None):
        return self._step("eoh", SMFIC_EOH, b"", SMFIP_NOEOH, SMFIP_NR_EOH,
                          macros)

    def body(self, data, macros=None):
        """send the body in chunks of at most 65535 bytes; a 'skip' answer
        ends the body early"""
        if self.has(SMFIP_NOBODY):
            return None
        if isinstance(data, str):
            data = data.encode()
        for i in range(0, len(data), MAX_CHUNK):
            self.macros(SMFIC_BODY, macros)
            macros = None
            self._send(SMFIC_BODY, data[i:i + MAX_CHUNK])
            if self.has(SMFIP_NR_BODY):
                continue
            res = self._answer("body")
            if res is not None:
                if res.action == "skip":
                    return None
                return res
        return None

    def eom(self, macros=None, data=b""):
        """end of message: collect every modification up to the final
        answer.  data: a last body chunk carried in the EOM packet itself
        (MTAs may send one; empty by default)"""
        self.macros(SMFIC_BODYEOB, macros)
        self._send(SMFIC_BODYEOB, data)
        return self.read_eom()

    def read_eom(self):
        """the filter's answer to an end of message already sent"""
        res = MilterResult("eom")
        while True:
            code, data = self._recv()
            if code == b"p":
                res.progress += 1
            elif code in (b"h", b"i", b"m"):
                if code == b"h":
                    name, value = _split_cstrs(data)
                    res.ops.append(HeaderOp("add", None, name, value,
                                            self.has(SMFIP_HDR_LEADSPC)))
                else:
                    (idx,) = struct.unpack("!I", data[:4])
                    name, value = _split_cstrs(data[4:])
                    kind = "insert" if code == b"i" else "change"
                    res.ops.append(HeaderOp(kind, idx, name, value,
                                            self.has(SMFIP_HDR_LEADSPC)))
            elif code == b"q":
                res.quarantine = _split_cstrs(data)[0]
            elif code in MODS:
                res.other.append((code, data))
            elif code in FINAL and code != b"s":
                res.action = FINAL[code]
                if code == b"y":
                    res.reply = _split_cstrs(data)[0]
                return res
            else:
                raise MilterError("unexpected %r %r at eom" % (code, data))

    def abort(self):
        self._send(SMFIC_ABORT)

    def quit_nc(self):
        """'K': this SMTP connection is over, a new one (CONNECT, no new
        OPTNEG) follows on the same milter connection"""
        self._send(SMFIC_QUIT_NC)

    def quit(self):
        try:
            self._send(SMFIC_QUIT)
        except (OSError, MilterError):
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def split_message(msg):
    """RFC 5322 message bytes -> ([(name, raw value after the colon)], body).
    The raw value keeps its leading whitespace and its folding (CRLF)."""
    if isinstance(msg, str):
        msg = msg.encode()
    msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, sep, body = msg.partition(b"\r\n\r\n")
    if not sep:
        head, body = msg, b""
        if head.endswith(b"\r\n"):
            head = head[:-2]
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            raise ValueError("not a header line: %r" % line)
        headers.append((name, value))
    return ([(n.decode("utf-8", "surrogateescape"),
              v.decode("utf-8", "surrogateescape")) for n, v in headers],
            body)


def run_transaction(spec, message, *, client_addr="192.0.2.10", family="4",
                    client_port=40000, client_name="mail.example.org",
                    helo="mail.example.org", mailfrom="<user@example.org>",
                    rcpts=("<rcpt@example.net>",), queue_id="TESTQID",
                    auth_authen=None, mta_name="mx.authmilter.example",
                    timeout=30.0, offer_actions=SMFIF_ALL,
                    offer_protocol=SMFIP_ALL, send_macros=True,
                    version=MILTER_VERSION):
    """One SMTP connection with one message, the way an MTA drives a
    filter.  message: bytes of an RFC 5322 message, or ([(name, value)],
    body).  helo=None skips HELO; send_macros=False sends no macro at all;
    version: the protocol version offered (2 to 6; offer_protocol should
    then hold only the steps that version has, as Postfix's milter_protocol
    does).  Returns the MilterResult of the step that ended it."""
    with MilterClient(spec, timeout=timeout) as c:
        c.optneg(offer_actions, offer_protocol, version)
        res = c.connect(client_name, family, client_port, client_addr,
                        macros=send_macros and {
                            "j": mta_name, "{daemon_name}": "smtpd"})
        if res is None and helo is not None:
            res = c.helo(helo)
        if res is None:
            res = transaction(c, message, mailfrom=mailfrom, rcpts=rcpts,
                              queue_id=queue_id, auth_authen=auth_authen,
                              send_macros=send_macros)
        else:
            res.headers_sent = split_message(message)[0] \
                if isinstance(message, (bytes, str)) else message[0]
        c.quit()
        res.client = c
        return res


def transaction(c, message, *, mailfrom="<user@example.org>",
                rcpts=("<rcpt@example.net>",), queue_id="TESTQID",
                auth_authen=None, send_macros=True):
    """One message (MAIL .. end of message) on an open, negotiated
    connection.  Returns the MilterResult of the step that ended it, with
    .headers_sent set."""
    if isinstance(message, (bytes, str)):
        headers, body = split_message(message)
    else:
        headers, body = message

    def mac(d):
        return d if send_macros else None
    res = c.mail(mailfrom, macros=mac({"i": queue_id,
                                       "{auth_authen}": auth_authen}))
    for r in rcpts:
        if res is None:
            res = c.rcpt(r)
    if res is None:
        res = c.data(macros=mac({"i": queue_id}))
    for name, value in headers:
        if res is None:
            res = c.header(name, value)
    if res is None:
        res = c.eoh(macros=mac({"i": queue_id}))
    if res is None:
        res = c.body(body)
    if res is None:
        res = c.eom(macros=mac({"i": queue_id}))
    res.headers_sent = headers
    return res
