"""Fixtures for the milter-level tests: keys and an independent signer, a
real nsd serving the test zone on a loopback port, a DNS black hole, and
authmilter daemons started per configuration.

Run with /usr/bin/python3 (Debian's python3-dkim, python3-authres,
python3-dnspython, python3-pytest); see tests/milter/run.
Environment: AUTHMILTER = path of the authmilter binary (required by the
tests that talk to the daemon; the harness self-tests run without it);
AUTHMILTER_ENGINE = builtin (default) or libmilter: the MilterEngine every
daemon of the run uses (scripts/test runs the tier once per engine).
"""

import base64
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import authres  # noqa: E402
import dkim  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

from milterclient import parse_socket, run_transaction, split_message  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from loopnsd import NSD_CONF, free_port  # noqa: E402

AUTHSERV_ID = "mx.authmilter.example"

# the milter engine under test (MilterEngine); every daemon here runs it
ENGINE = os.environ.get("AUTHMILTER_ENGINE") or "builtin"
if ENGINE not in ("builtin", "libmilter"):
    raise SystemExit("AUTHMILTER_ENGINE=%s: expected builtin or libmilter"
                     % ENGINE)


def engine_only(name, why):
    """mark a test (or module, as pytestmark) that is about one engine's
    internals: skipped under the other engine, saying why"""
    return pytest.mark.skipif(
        ENGINE != name, reason="%s engine only: %s" % (name, why))

# client addresses: never 127/8 (libspf2 passes loopback clients)
GOOD_IP = "192.0.2.10"          # allowed by example.org's SPF record
GOOD_IP6 = "2001:db8::10"       # allowed by example.org's SPF record
BAD_IP = "198.51.100.20"        # allowed by example.com's SPF, no other
IGNORED_IP = "192.0.2.99"       # in the IgnoreHosts of the "ignore" daemon

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
DKNEWKEY = "/usr/bin/dknewkey"


# ---------------------------------------------------------------- helpers

def wait_for(pred, timeout, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def txt_rdata(text):
    """TXT rdata for a zone file: quoted strings of at most 255 bytes"""
    raw = text.encode()
    parts = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    out = []
    for p in parts:
        s = p.decode().replace("\\", "\\\\").replace('"', '\\"')
        out.append('"%s"' % s)
    return " ".join(out)


_qids = itertools.count(1)


def new_qid():
    return "4QT%05dX" % next(_qids)


def make_msg(from_="user@example.org", subject="test message",
             to="rcpt@example.net", headers=(), body=None,
             from_headers=None, msgid=None):
    """An RFC 5322 message as bytes with CRLF line ends.
    from_headers: list of From values (None: one From: from_; []: none).
    headers: extra (name, value) pairs placed first (value without the
    leading space; pass raw=True-style values via make_raw if needed)."""
    if body is None:
        body = "Hello,\r\n\r\nthis is a test message.\r\n-- \r\nauthmilter\r\n"
    lines = []
    for name, value in headers:
        lines.append("%s: %s" % (name, value))
    if from_headers is None:
        from_headers = [from_]
    for f in from_headers:
        lines.append("From: %s" % f)
    lines.append("To: %s" % to)
    lines.append("Subject: %s" % subject)
    lines.append("Date: Tue, 24 Nov 2026 12:00:00 +0000")
    lines.append("Message-ID: <%s@example.org>" % (msgid or new_qid()))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sign(msg, selector, domain, keyfile, signalg="rsa-sha256",
         hcanon="relaxed", bcanon="relaxed", include_headers=None):
    """Sign msg with dkimpy (python3-dkim), an independent implementation;
    returns the message with the DKIM-Signature prepended (CRLF lines)."""
    with open(keyfile, "rb") as f:
        key = f.read()
    kw = {}
    if include_headers is not None:
        kw["include_headers"] = [h.encode() for h in include_headers]
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                    canonicalize=(hcanon.encode(), bcanon.encode()),
                    signature_algorithm=signalg.encode(), **kw)
    sig = sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return sig + msg


# ---------------------------------------------------------------- A-R checks

def parse_ar(value):
    """Parse an A-R field value with Debian's python3-authres (RFC 8601)."""
    return authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + value)


def ar_entries(value):
    """[(method, result, {ptype.name: value}, reason)] of an A-R value"""
    h = parse_ar(value)
    out = []
    for r in h.results:
        props = {}
        for p in r.properties:
            props["%s.%s" % (p.type, p.name)] = p.value
        out.append((r.method, r.result, props, r.reason))
    return h, out


def inserted_ar(res):
    """Check the filter added exactly one header, an A-R inserted at the
    top (index 0), with only A-R deletions besides; return its value."""
    adds = [op for op in res.ops if op.kind in ("add", "insert")]
    assert len(adds) == 1, "expected exactly one new header, got %r" % res.ops
    op = adds[0]
    assert op.kind == "insert" and op.index == 0, \
        "A-R must be inserted at index 0 (top), got %r" % op
    assert op.name.lower() == "authentication-results", op
    assert op.leadspc_ok, \
        "under SMFIP_HDR_LEADSPC the value must bring its own leading " \
        "space (Postfix would write 'Name:value'): %r" % op.raw
    for other in res.ops:
        if other.kind == "change":
            assert other.name.lower() == "authentication-results" and \
                other.value == "", "unexpected header change %r" % other
    return op.value


def accepted_ar(res):
    """The message is delivered (not rejected, tempfailed or held) with
    our A-R as the single new header at the top; returns the A-R value."""
    assert res.step == "eom", "filter ended the transaction at %s: %r" % (
        res.step, res)
    assert res.action in ("continue", "accept") and res.reply is None, \
        "expected the message to be accepted, got %r" % res
    assert res.quarantine is None, "unexpected quarantine %r" % res
    value = inserted_ar(res)
    delivered = res.apply(res.headers_sent)
    assert delivered[0] == ("Authentication-Results", value)
    return value


def rejected(res, code="550", xcode="5.7.26"):
    """The filter rejected at EOM with an SMTP reply; returns its text"""
    assert res.action == "replycode" and res.reply, \
        "expected a %s reply, got %r" % (code, res)
    parts = res.reply_shown.split(" ", 2)
    assert parts[0] == code and parts[1] == xcode, res.reply
    return parts[2] if len(parts) > 2 else ""


def assert_ar(value, expected, ignore_helo=True, authserv_id=AUTHSERV_ID):
    """Compare an A-R value's contents with what was meant.

    expected: list of (method, result, {prop: value}) — every listed
    property must be present with that value (others are not compared);
    the multiset of (method, result) must match exactly.  With ignore_helo,
    spf entries with smtp.helo are left out of the comparison unless
    expected lists one; without an arc entry in expected, exactly one
    arc=none must be there.  Returns the parsed entries."""
    h, got = ar_entries(value)
    assert h.authserv_id.lower() == authserv_id.lower(), \
        "authserv-id %r in %r" % (h.authserv_id, value)
    if ignore_helo and not any(
            m == "spf" and "smtp.helo" in p for m, _, p in expected):
        got_cmp = [g for g in got if not (g[0] == "spf" and
                                          "smtp.helo" in g[2])]
    else:
        got_cmp = list(got)
    # every message gets an arc= entry (RFC 8617 10.1); none when it has
    # no ARC sets, which is what a test that lists no arc entry means
    if not any(m == "arc" for m, _, _ in expected):
        nones = [g for g in got_cmp if g[0] == "arc" and g[1] == "none"]
        assert len(nones) == 1, "A-R lacks arc=none\nA-R: %s" % value
        got_cmp.remove(nones[0])
    remaining = list(got_cmp)
    for method, result, props in expected:
        for g in remaining:
            if g[0] == method and g[1] == result and all(
                    g[2].get(k) == v for k, v in props.items()):
                remaining.remove(g)
                break
        else:
            pytest.fail("A-R lacks %s=%s %r\nA-R: %s\nparsed: %r"
                        % (method, result, props, value, got_cmp))
    assert not remaining, "A-R has unexpected entries %r\nA-R: %s" % (
        remaining, value)
    return got


def dmarc_comment(value):
    """the comment after dmarc=result (and its reason="..." if any), e.g.
    'p=reject dis=none', or None"""
    m = re.search(r'dmarc\s*=\s*[a-z]+\s*(?:reason\s*=\s*(?:"(?:[^"\\]|\\.)*"'
                  r'|[^\s;(]+)\s*)?\(([^)]*)\)', value)
    return m.group(1) if m else None


# ---------------------------------------------------------------- keys

class Keys:
    """DKIM keys made once per session: rsa (2048), rsa_other (2048, used
    to sign under a selector that publishes rsa's public key), ed (ed25519)
    and short (RSA 512).  Attributes *_key are private key files, *_txt
    the DNS TXT record text."""

    def __init__(self, d):
        self.dir = d
        for name, ktype in (("rsa", "rsa"), ("rsa_other", "rsa"),
                            ("ed", "ed25519")):
            subprocess.run([DKNEWKEY, "--ktype", ktype, name], cwd=d,
                           check=True, capture_output=True)
            setattr(self, name + "_key", os.path.join(d, name + ".key"))
            with open(os.path.join(d, name + ".dns")) as f:
                setattr(self, name + "_txt", f.read().strip())
        self.short_key = os.path.join(d, "short.key")
        subprocess.run([OPENSSL, "genrsa", "-traditional", "-out",
                        self.short_key, "512"], check=True,
                       capture_output=True)
        der = subprocess.run([OPENSSL, "rsa", "-in", self.short_key,
                              "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.short_txt = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


# ---------------------------------------------------------------- zone data

def zone_records(keys):
    """Every record the scenarios use, as (owner, type, rdata text).

    Registered domains and what they are for:
      example.org   p=reject; SPF allows 192.0.2.10 and 2001:db8::10; keys
      example.com   p=none sp=reject np=quarantine; SPF allows 198.51.100/24
      example.net   p=reject adkim=s aspf=s (strict alignment)
      example.biz   p=quarantine; SPF -all
      example.info  no DMARC record anywhere; the SPF scenario names
      pct0/50/100.example  p=reject with pct=0 / 50 / 100 (RFC 7489)
    """
    spf_good = "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"
    r = []

    def txt(owner, text):
        r.append((owner, "TXT", txt_rdata(text)))

    def a(owner, addr="192.0.2.1"):
        r.append((owner, "A", addr))

    # example.org: the p=reject domain
    a("example.org")
    txt("example.org", spf_good)
    a("mail.example.org", GOOD_IP)
    txt("mail.example.org", spf_good)
    txt("_dmarc.example.org", "v=DMARC1; p=reject")
    txt("rsa._domainkey.example.org", keys.rsa_txt)
    txt("ed._domainkey.example.org", keys.ed_txt)
    txt("bad._domainkey.example.org", keys.rsa_txt)   # signed with rsa_other
    txt("short._domainkey.example.org", keys.short_txt)

    # example.com: p=none, sp=reject, np=quarantine
    a("example.com")
    txt("example.com", "v=spf1 ip4:198.51.100.0/24 -all")
    txt("_dmarc.example.com", "v=DMARC1; p=none; sp=reject; np=quarantine")
    txt("rsa._domainkey.example.com", keys.rsa_txt)
    a("sub.example.com")
    txt("rsa._domainkey.sub.example.com", keys.rsa_txt)
    a("a.b.c.example.com")             # exists: sp applies, not np
    # nonexistent.example.com: no records at all (NXDOMAIN) -> np

    # example.net: strict alignment
    a("example.net")
    txt("example.net", spf_good)
    txt("_dmarc.example.net", "v=DMARC1; p=reject; adkim=s; aspf=s")
    txt("rsa._domainkey.example.net", keys.rsa_txt)
    a("sub.example.net")
    txt("sub.example.net", spf_good)
    txt("rsa._domainkey.sub.example.net", keys.rsa_txt)

    # example.biz: p=quarantine
    a("example.biz")
    txt("example.biz", "v=spf1 -all")
    txt("_dmarc.example.biz", "v=DMARC1; p=quarantine")

    # example.info: no DMARC; one name per SPF result
    a("example.info")
    txt("example.info", spf_good)
    txt("pass.example.info", spf_good)
    txt("fail.example.info", "v=spf1 ip4:198.51.100.0/24 -all")
    txt("softfail.example.info", "v=spf1 ip4:198.51.100.0/24 ~all")
    txt("neutral.example.info", "v=spf1 ?all")
    a("none.example.info")
    txt("none.example.info", "not an spf record")
    txt("permerror.example.info", "v=spf1 ip4:192.0.2.0/24 frobnicate -all")
    txt("permerror2.example.info", "v=spf1 ip4:192.0.2.0/33 -all")
    a("mail.example.info", GOOD_IP)
    txt("mail.example.info", "v=spf1 -all")          # HELO fails here
    txt("rsa._domainkey.example.info", keys.rsa_txt)

    # special-use names libunbound answers itself unless told to forward:
    # RFC 6761 test., RFC 8375 home.arpa. (tests/milter/test_special_zones)
    for d in ("example.test", "lab.home.arpa"):
        a(d)
        txt(d, spf_good)
        txt("_dmarc." + d, "v=DMARC1; p=reject")
        txt("rsa._domainkey." + d, keys.rsa_txt)

    # the DMARC history (test_history*.py): every tag it records; t=y;
    # sub.hist.example exists and inherits sp=quarantine
    a("hist.example")
    txt("hist.example", spf_good)
    txt("_dmarc.hist.example", "v=DMARC1; p=reject; sp=quarantine; "
        "adkim=s; fo=1:d; rua=mailto:agg@hist.example,"
        "mailto:agg2@hist.example; ruf=mailto:frep@hist.example")
    txt("rsa._domainkey.hist.example", keys.rsa_txt)
    a("sub.hist.example")
    a("testing.example")
    txt("_dmarc.testing.example", "v=DMARC1; p=reject; t=y")

    # pct= (RFC 7489 mode only; RFC 9989 has no pct)
    for pct in (0, 50, 100):
        a("pct%d.example" % pct)
        txt("_dmarc.pct%d.example" % pct, "v=DMARC1; p=reject; pct=%d" % pct)
    return r


def zone_text(records):
    lines = [
        "$ORIGIN .",
        "$TTL 60",
        ". IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 60",
        ". IN NS ns.example.org.",
        "ns.example.org. IN A 127.0.0.1",
    ]
    for owner, rtype, rdata in records:
        lines.append("%s. IN %s %s" % (owner.rstrip("."), rtype, rdata))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- nsd

class NsdServer:
    """nsd serving one root zone (so every name gets an authoritative
    answer, NXDOMAIN included) on 127.0.0.1:port, unprivileged."""

    def __init__(self, workdir, records):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.records = records
        self.port = None
        self.proc = None

    def start(self, timeout=10):
        d = self.dir
        with open(os.path.join(d, "root.zone"), "w") as f:
            f.write(zone_text(self.records))
        last = None
        for _ in range(3):
            self.port = free_port()
            with open(os.path.join(d, "nsd.conf"), "w") as f:
                f.write(NSD_CONF % {"dir": d, "port": self.port})
            log = open(os.path.join(d, "nsd.out"), "ab")
            self.proc = subprocess.Popen(
                [NSD, "-c", os.path.join(d, "nsd.conf"), "-d"],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
            log.close()
            if wait_for(lambda: self.proc.poll() is not None or
                        self._answers(), timeout, 0.05) and \
                    self.proc.poll() is None:
                return self
            last = self.log()
            self.stop()
        raise RuntimeError("nsd did not start:\n%s" % last)

    def _answers(self):
        try:
            return self.query("ns.example.org", "A", timeout=0.2) is not None
        except Exception:
            return False

    def query(self, name, rtype, timeout=2.0):
        """(rcode text, [rdata text]) straight from nsd"""
        q = dns.message.make_query(name, rtype)
        r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, "127.0.0.1", port=self.port,
                              timeout=timeout)
        out = []
        for rrset in r.answer:
            for rd in rrset:
                out.append(rd)
        return dns.rcode.to_text(r.rcode()), out

    def txt(self, name):
        """dkimpy dnsfunc: the TXT record as bytes, or None"""
        rcode, rds = self.query(name.decode() if isinstance(name, bytes)
                                else name, "TXT")
        for rd in rds:
            if rd.rdtype == dns.rdatatype.TXT:
                return b"".join(rd.strings)
        return None

    def log(self):
        p = os.path.join(self.dir, "nsd.out")
        try:
            with open(p) as f:
                out = f.read()
        except OSError:
            out = ""
        p = os.path.join(self.dir, "nsd.log")
        if os.path.exists(p):
            with open(p) as f:
                out += f.read()
        return out

    def stop(self):
        """SIGTERM by PID; do not wait for nsd's slow exit"""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def reap(self, timeout=5):
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class BlackHole:
    """A 'name server' that reads queries and never answers: UDP socket
    read by a thread, TCP socket listening but never accepting."""

    def __init__(self):
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.queries = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.udp.settimeout(0.2)
        while not self._stop:
            try:
                self.udp.recvfrom(4096)
                self.queries += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.udp.close()
        self.tcp.close()


# ---------------------------------------------------------------- authmilter

class Authmilter:
    """One authmilter daemon: config, process, log."""

    def __init__(self, binary, workdir, name, nameservers, overrides=()):
        self.binary = binary
        self.dir = workdir
        self.name = name
        os.makedirs(workdir, exist_ok=True)
        sock = dict((k.lower(), v) for k, v in overrides).get("socket")
        if sock is None:
            self.port = free_port()
            self.spec = "inet:%d@127.0.0.1" % self.port
        else:
            self.port = None
            self.spec = sock
        self.conf = os.path.join(workdir, "authmilter-%s.conf" % name)
        self.logfile = os.path.join(workdir, "authmilter-%s.log" % name)
        settings = [
            ("Socket", self.spec),
            ("AuthservID", AUTHSERV_ID),
            ("Nameservers", nameservers),
            ("DNSTimeout", "2"),
            ("LogLevel", "debug"),
            ("Syslog", "no"),
            # the DMARC history (on by default): each daemon its own file
            ("HistoryDB", os.path.join(workdir, "history-%s.db" % name)),
            # iprev (on by default) has its own tests (test_iprev.py); the
            # others compare the A-R's entries exactly and have no PTR data
            ("IPRev", "no"),
        ]
        if os.environ.get("AUTHMILTER_ENGINE"):     # else the default
            settings.append(("MilterEngine", ENGINE))
        keys = {k.lower() for k, _ in overrides}
        settings = [(k, v) for k, v in settings if k.lower() not in keys]
        settings += list(overrides)
        with open(self.conf, "w") as f:
            f.write("# written by tests/milter/conftest.py\n")
            for k, v in settings:
                f.write("%s %s\n" % (k, v))
        self.proc = None
        self.returncode = None

    def start(self, timeout=10):
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([self.binary, "-f", "-c", self.conf],
                                     stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()

        def up():
            if self.proc.poll() is not None:
                return True
            fam, addr = parse_socket(self.spec)
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(0.2)
            try:
                s.connect(addr)
                return True
            except OSError:
                return False
            finally:
                s.close()
        wait_for(up, timeout, 0.05)
        if self.proc.poll() is not None:
            raise RuntimeError("authmilter (%s) exited with %s at start:\n%s"
                               % (self.name, self.proc.returncode,
                                  self.log()))
        if not up():
            self.proc.kill()
            raise RuntimeError("authmilter (%s) does not listen on %s:\n%s"
                               % (self.name, self.spec, self.log()))
        return self

    def send(self, message, **kw):
        """run one SMTP transaction through the daemon; returns the
        MilterResult (with .qid and .headers_sent)"""
        kw.setdefault("queue_id", new_qid())
        if self.proc.poll() is not None:
            raise RuntimeError("authmilter (%s) is not running (exit %s):\n%s"
                               % (self.name, self.proc.returncode,
                                  self.log()))
        res = run_transaction(self.spec, message, **kw)
        res.qid = kw["queue_id"]
        return res

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def summary(self, qid, timeout=2.0):
        """the summary line of one message (the line with the queue id and
        action=), parsed into a dict of key=value pairs (+ 'line')"""
        found = []

        def look():
            found[:] = [ln for ln in self.log().splitlines()
                        if qid in ln and re.search(r"\baction=", ln)]
            return bool(found)
        wait_for(look, timeout, 0.05)
        assert found, "no summary line for %s in the log:\n%s" % (
            qid, self.log()[-3000:])
        assert len(found) == 1, "several summary lines for %s: %r" % (
            qid, found)
        line = found[0]
        kv = {"line": line}
        for m in re.finditer(r'([A-Za-z_.-]+)=("(?:[^"\\]|\\.)*"|\S*)', line):
            kv.setdefault(m.group(1), m.group(2).strip('"'))
        return kv

    def terminate(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=10):
        """returns (exit status or None if still running after timeout)"""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.returncode = None
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class MilterPool:
    """Daemons by configuration, started on first use and kept for the
    session; stopped together (SIGTERM) at the end."""

    def __init__(self, binary, workdir, nameservers):
        self.binary = binary
        self.dir = workdir
        self.nameservers = nameservers
        self.daemons = {}
        self.extra = []

    def get(self, name="default", overrides=(), nameservers=None):
        key = (name, tuple(overrides), nameservers)
        if key not in self.daemons:
            m = Authmilter(self.binary, self.dir, name,
                           nameservers or self.nameservers, overrides)
            self.daemons[key] = m.start()
        return self.daemons[key]

    def new(self, name, overrides=(), nameservers=None):
        """a daemon of the caller's own, not shared; one the caller does not
        wait for is stopped (and checked) with the others at the end"""
        m = Authmilter(self.binary, self.dir, name,
                       nameservers or self.nameservers, overrides)
        self.extra.append(m)
        return m

    def internal_errors(self):
        """log lines of the shared daemons that look like a crash or an
        internal failure (test_zz_logs; and at the end of the session,
        for the daemons of every pytest-xdist worker)"""
        bad = []
        for m in self.daemons.values():
            for ln in m.log().splitlines():
                if re.search(r"internal error|assert|double free|"
                             r"AddressSanitizer|segmentation", ln, re.I):
                    bad.append("%s: %s" % (m.name, ln))
        return bad

    def stop_all(self, timeout=10):
        problems = []
        ms = list(self.daemons.values()) + [
            m for m in self.extra
            if m.proc is not None and m.returncode is None]
        for m in ms:
            m.terminate()
        end = time.monotonic() + timeout
        for m in ms:
            rc = m.wait(max(0.1, end - time.monotonic()))
            if rc is None:
                problems.append("%s: still running %ss after SIGTERM"
                                % (m.name, timeout))
                m.kill()
            elif rc != 0:
                problems.append("%s: exit status %s after SIGTERM; log "
                                "tail:\n%s" % (m.name, rc, m.log()[-1500:]))
        return problems


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("authmilter"))


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="session")
def nsd(keys, tmp_path_factory):
    server = NsdServer(str(tmp_path_factory.mktemp("nsd")), zone_records(keys))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def authmilter_bin():
    path = os.environ.get("AUTHMILTER")
    if not path:
        pytest.fail("AUTHMILTER is not set: export AUTHMILTER=/path/to/"
                    "authmilter (e.g. build/milter/authmilter) to run the "
                    "daemon tests", pytrace=False)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail("AUTHMILTER=%s is not an executable file" % path,
                    pytrace=False)
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def milters(authmilter_bin, nsd, workdir):
    pool = MilterPool(authmilter_bin, workdir, "127.0.0.1@%d" % nsd.port)
    yield pool
    problems = pool.stop_all(10)
    assert not problems, "unclean shutdown:\n" + "\n".join(problems)
    # test_zz_logs runs last in one worker only when the tier runs in
    # several (MILTER_JOBS): each worker checks its own daemons here
    bad = pool.internal_errors()
    assert not bad, "\n".join(bad[:30])


@pytest.fixture(scope="session")
def pg():
    """one throw-away PostgreSQL cluster for the run (tests/lib/pg-start):
    .uri, .query(sql), .stop(), .start(); under /tmp, which the cluster's
    user (nobody, when run as root) can reach"""
    import tempfile
    from pgcluster import PgCluster
    cluster = PgCluster(tempfile.mkdtemp(prefix="authmilter-pg-", dir="/tmp"))
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def milter(milters):
    """the daemon with the default test configuration"""
    return milters.get()


@pytest.fixture(scope="session")
def blackhole():
    bh = BlackHole()
    yield bh
    bh.close()


def header_list(message):
    """(name, value) pairs of a message, values as sent (raw)"""
    return split_message(message)[0]


def naive_methods(value):
    """(method, result) of each resinfo, read without a grammar: drop
    quoted-strings and comments, split at ';', take the first key=value;
    ("?", text) for a resinfo without one (test_authres, test_authres_corpus)"""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', value)
    while True:
        stripped = re.sub(r'\((?:[^()\\]|\\.)*\)', ' ', text)
        if stripped == text:
            break
        text = stripped
    out = []
    parts = text.split(";")[1:]
    if len(parts) == 1 and parts[0].strip().lower() == "none":
        return out              # RFC 8601 2.2 no-result
    for part in parts:
        m = re.match(r'\s*([A-Za-z0-9_-]+)\s*=\s*([A-Za-z0-9_-]+)', part)
        out.append((m.group(1).lower(), m.group(2).lower()) if m else
                   ("?", part))
    return out
