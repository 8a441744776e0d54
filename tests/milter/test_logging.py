"""The log a postmaster reads (issue 16, "Logs"): debug lines of every
check with the queue id (and none at info), the summary line's fields
(reasons, Message-ID, every From domain, a policy key that parses),
daemon lines without a queue-id prefix, one log destination at a time
(syslog, stderr, a file reopened on reload), JSON lines, and temperrors
that name the look-up that failed, in the A-R and the log.

Syslog is observed through a test socket at /dev/log inside a private
mount namespace (unshare -m, as root, which the milter tier runs as): the
daemon's syslog(3) reaches the test and nothing else, and the machine's
/dev/log is never touched."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (AUTHSERV_ID, BAD_IP, GOOD_IP, NsdServer, ar_entries,
                      make_msg, parse_ar, rejected, sign, txt_rdata,
                      wait_for, zone_records)
from faultdns import FaultDNS
from milterclient import parse_socket

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def lines_of(m, qid):
    return [ln for ln in m.log().splitlines() if qid + ":" in ln]


def spoof(m, **kw):
    """a message From example.org (p=reject) from a client its SPF does
    not allow, unsigned: rejected"""
    msg = make_msg(from_="ceo@example.org", msgid="spoof-%d" % time.time_ns())
    res = m.send(msg, mailfrom="<ceo@example.org>", client_addr=BAD_IP,
                 helo="mail.example.org", **kw)
    return res


# ------------------------------------------------------------ debug lines

CACHED = r"(?: \(cached\))?"


@pytest.fixture(scope="module")
def dbg(milters):
    """a daemon of this module's own at LogLevel debug (the conftest
    default), so its DNS cache holds only what these tests asked"""
    return milters.get("logdebug")


def test_debug_shows_each_step_with_the_queue_id(dbg):
    milter = dbg
    res = spoof(milter)
    rejected(res)
    s = milter.summary(res.qid)
    text = "\n".join(lines_of(milter, res.qid))
    # SPF: the DNS answer and the outcome
    assert re.search(r"dns: example\.org TXT: 1 record" + CACHED +
                     r": \"v=spf1 ", text), text
    assert re.search(r"spf: mailfrom ceo@example\.org \(domain example\.org\)"
                     r": fail", text), text
    # DKIM: no signature
    assert "dkim: no signature" in text, text
    # DMARC: the discovery walk, the record chosen, alignment, the policy
    assert re.search(r"dmarc: _dmarc\.example\.org: DMARC record "
                     r"\"v=DMARC1; p=reject\"", text), text
    assert "dmarc: example.org: policy record at _dmarc.example.org" in text
    assert re.search(r"dmarc: From domains example\.org: result fail for "
                     r"example\.org .*policy p=reject", text), text
    assert s["action"] == "reject"


def test_debug_dkim_signature_outcome_and_why(dbg, keys):
    milter = dbg
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    msg = msg.replace(b"this is a test message", b"this is a forged message")
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=BAD_IP)
    rejected(res)
    text = "\n".join(lines_of(milter, res.qid))
    assert re.search(r"dkim: signature 1 d=example\.org s=rsa a=rsa-sha256 "
                     r"b=\S+ key=2048 bits: fail \(body hash mismatch\)",
                     text), text
    assert re.search(r"dns: rsa\._domainkey\.example\.org TXT: 1 record",
                     text), text
    s = milter.summary(res.qid)
    assert s["dkim.reason"] == "example.org: body hash mismatch", s["line"]


def test_info_logs_one_line_per_message(milters):
    m = milters.get("info", [("LogLevel", "info")])
    res = spoof(m)
    rejected(res)
    m.summary(res.qid)
    mine = lines_of(m, res.qid)
    assert len(mine) == 1 and "action=reject" in mine[0], mine
    assert not [ln for ln in m.log().splitlines() if ": debug: " in ln]


# ------------------------------------------------------------ summary line

def test_summary_fields_of_a_rejected_spoof(milter):
    res = spoof(milter)
    rejected(res)
    s = milter.summary(res.qid)
    line = s["line"]
    assert "policy=p=" not in line, line
    assert s["dmarc.policy"] == "reject" and s["dmarc.policy_tag"] == "p"
    assert s["msgid"].startswith("<spoof-") and \
        s["msgid"].endswith("@example.org>"), line
    assert s["spf"] == "fail" and s["spf.reason"], line
    assert s["dmarc"] == "fail" and s["dmarc.reason"] == "no aligned pass"
    assert s["from"] == "example.org", line
    # every pair splits on the summary grammar: key=token or key="text"
    body = line.split(res.qid + ": ", 1)[1]
    assert re.fullmatch(r'[a-z_.]+=(?:"[^"]*"|[^\s"]+)(?: [a-z_.]+=(?:"[^"]*"'
                        r'|[^\s"]+))*', body), body


def test_summary_lists_every_from_domain(milter):
    msg = make_msg(from_headers=["a@example.org, b@example.com"])
    res = milter.send(msg, mailfrom="<a@example.org>", client_addr=GOOD_IP)
    s = milter.summary(res.qid)
    assert s["from"] == "example.org,example.com", s["line"]
    assert s["dmarc.domain"] in ("example.org", "example.com"), s["line"]


# ------------------------------------------------------------ daemon lines

def test_daemon_lines_have_no_queue_id_prefix(milter):
    spoof(milter)
    log = milter.log()
    assert re.search(r": info: starting authmilter ", log), log[-2000:]
    bad = [ln for ln in log.splitlines() if re.search(r": NOQUEUE: ", ln)]
    assert not bad, bad[:5]


def test_bind_error_names_the_socket_once(authmilter_bin, tmp_path):
    path = str(tmp_path / "not-a-socket")
    with open(path, "w") as f:
        f.write("x\n")
    conf = tmp_path / "a.conf"
    conf.write_text("Socket unix:%s\nSyslog no\nAuthservID %s\n"
                    % (path, AUTHSERV_ID))
    p = subprocess.run([authmilter_bin, "-f", "-c", str(conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "not a socket" in p.stderr, p.stderr
    assert p.stderr.count(path) == 1, p.stderr


# ------------------------------------------------------------ destinations

class SyslogSink:
    """a datagram socket standing in for /dev/log"""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.got = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                self.got.append(self.sock.recv(65536).decode(
                    errors="replace"))
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


NS_SCRIPT = r"""
set -e
d=$1; shift
mkdir -p "$d/olddev"
mount --rbind /dev "$d/olddev"
mount -t tmpfs tmpfs /dev
for f in null zero random urandom; do
	touch "/dev/$f"; mount --bind "$d/olddev/$f" "/dev/$f"
done
if [ -S "$d/log.sock" ]; then
	touch /dev/log; mount --bind "$d/log.sock" /dev/log
fi
exec "$@"
"""


def run_in_ns(authmilter_bin, tmp_path, nsd, settings, sink=True,
              journal=False):
    """start the daemon (-f) in a mount namespace whose /dev/log is the
    returned sink's socket (or absent); returns (proc, sink, logfile)"""
    d = tmp_path
    snk = SyslogSink(str(d / "log.sock")) if sink else None
    port_sock = str(d / "milter.sock")
    conf = d / "ns.conf"
    lines = ["Socket unix:%s" % port_sock, "AuthservID %s" % AUTHSERV_ID,
             "Nameservers 127.0.0.1@%d" % nsd.port, "DNSTimeout 2"]
    lines += ["%s %s" % kv for kv in settings]
    conf.write_text("\n".join(lines) + "\n")
    script = d / "ns.sh"
    script.write_text(NS_SCRIPT)
    out = open(str(d / "stderr.txt"), "wb")
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal:         # what systemd sets when stderr is the journal
        st = os.fstat(out.fileno())
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    p = subprocess.Popen([UNSHARE, "-m", "--propagation", "private", "sh",
                          str(script), str(d), authmilter_bin, "-f", "-c",
                          str(conf)], stdout=out, stderr=out,
                         stdin=subprocess.DEVNULL, env=env)
    out.close()

    def up():
        if p.poll() is not None:
            return True
        fam, addr = parse_socket("unix:" + port_sock)
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.connect(addr)
            return True
        except OSError:
            return False
        finally:
            s.close()
    wait_for(up, 10, 0.05)
    assert p.poll() is None, open(str(d / "stderr.txt")).read()
    return p, snk, "unix:" + port_sock


def stop_ns(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def send_spoof(spec):
    from milterclient import run_transaction
    msg = make_msg(from_="ceo@example.org")
    return run_transaction(spec, msg, mailfrom="<ceo@example.org>",
                           client_addr=BAD_IP, queue_id="4QNS0001X")


@pytest.mark.parametrize("settings,where", [
    ([("LogDestination", "stderr")], "stderr"),
    ([("LogDestination", "syslog")], "syslog"),
    # the systemd unit's case: -f and Syslog yes (the default): syslog
    # only, the journal does not get every line twice
    ([], "syslog"),
    ([("Syslog", "no")], "stderr"),
])
def test_one_destination_at_a_time(authmilter_bin, tmp_path, nsd, settings,
                                   where):
    p, snk, spec = run_in_ns(authmilter_bin, tmp_path, nsd, settings)
    try:
        send_spoof(spec)
        err = str(tmp_path / "stderr.txt")
        if where == "syslog":
            assert wait_for(lambda: any("4QNS0001X: " in g and
                                        "action=reject" in g
                                        for g in snk.got), 5), snk.got
        else:
            assert wait_for(lambda: "4QNS0001X: " in open(err).read(), 5)
        stop_ns(p)
        text = open(err).read()
        if where == "syslog":
            assert "4QNS0001X" not in text and "starting" not in text, text
            assert any(re.search(r"authmilter\[\d+\]: starting authmilter",
                                 g) for g in snk.got), snk.got
        else:
            assert "starting authmilter" in text, text
            assert snk.got == [], snk.got[:5]
    finally:
        if p.poll() is None:
            p.kill()
        snk.close()


def test_stderr_to_the_journal_carries_priorities(authmilter_bin, tmp_path,
                                                 nsd):
    """JOURNAL_STREAM names our stderr: "<N>" prefixes (sd-daemon(3)),
    no timestamp of our own"""
    p, snk, spec = run_in_ns(authmilter_bin, tmp_path, nsd,
                             [("LogDestination", "stderr")], journal=True)
    try:
        send_spoof(spec)
        err = str(tmp_path / "stderr.txt")
        assert wait_for(lambda: "4QNS0001X: " in open(err).read(), 5)
        stop_ns(p)
        text = open(err).read()
        assert "<6>starting authmilter " in text, text
        assert re.search(r"^<6>4QNS0001X: client=.* action=reject ", text,
                         re.M), text
        assert snk.got == []
    finally:
        if p.poll() is None:
            p.kill()
        snk.close()


def test_warning_when_syslog_is_unreachable(authmilter_bin, tmp_path, nsd):
    p, _, spec = run_in_ns(authmilter_bin, tmp_path, nsd,
                           [("LogDestination", "syslog")], sink=False)
    try:
        stop_ns(p)
        text = open(str(tmp_path / "stderr.txt")).read()
        assert re.search(r"warning: syslog is not reachable \(/dev/log: ",
                         text), text
    finally:
        if p.poll() is None:
            p.kill()


def test_json_lines_in_a_file_reopened_on_reload(milters, tmp_path):
    path = str(tmp_path / "authmilter.log")
    m = milters.new("json", [("LogDestination", "file:" + path),
                             ("LogFormat", "json")]).start()
    try:
        res = spoof(m)
        rejected(res)

        def objects(p):
            with open(p) as f:
                return [json.loads(ln) for ln in f.read().splitlines()]
        assert wait_for(lambda: any(o.get("qid") == res.qid and
                                    "action" in o for o in objects(path)), 5)
        objs = objects(path)       # every line parses
        summ = [o for o in objs if o.get("qid") == res.qid and "action" in o]
        assert len(summ) == 1, objs
        s = summ[0]
        assert s["action"] == "reject" and s["dmarc"] == "fail", s
        assert s["dmarc.policy"] == "reject" and s["level"] == "info", s
        assert s["reason"].startswith("dmarc fail"), s
        assert any(o.get("msg", "").startswith("starting authmilter") and
                   "qid" not in o for o in objs), objs[:3]
        # debug lines too
        assert any(o.get("qid") == res.qid and o["level"] == "debug"
                   for o in objs)
        # nothing on stderr but what is not a log line
        assert "4QT" not in m.log(), m.log()[-1000:]
        # logrotate: move the file away, reload, the next line is in a new one
        os.rename(path, path + ".1")
        m.proc.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: os.path.exists(path) and any(
            "reload" in o.get("msg", "") for o in objects(path)), 5), \
            objects(path + ".1")[-3:]
        res2 = spoof(m)
        assert wait_for(lambda: any(o.get("qid") == res2.qid
                                    for o in objects(path)), 5)
        assert not any(o.get("qid") == res2.qid
                       for o in objects(path + ".1"))
    finally:
        m.terminate()
        m.wait(15)


# ------------------------------------------------------------ temperror

def temp_records(keys):
    r = []
    for d in ("servfail-dmarc.example", "dkimdrop.example",
              "servfail-spf.example"):
        r.append((d, "A", "192.0.2.1"))
        r.append((d, "TXT", txt_rdata("v=spf1 ip4:%s -all" % GOOD_IP)))
        r.append(("_dmarc." + d, "TXT", txt_rdata("v=DMARC1; p=reject")))
    r.append(("sel._domainkey.dkimdrop.example", "TXT",
              txt_rdata(keys.rsa_txt)))
    return r


@pytest.fixture(scope="module")
def temp_dns(keys, tmp_path_factory):
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-logtemp")),
                       zone_records(keys) + temp_records(keys))
    server.start()
    proxy = FaultDNS(server.port, {
        "_dmarc.servfail-dmarc.example": "servfail",
        "servfail-spf.example": "servfail",
        "sel._domainkey.dkimdrop.example": "drop"})
    yield proxy
    proxy.close()
    server.stop()


def test_temperror_names_the_failed_lookup(milters, temp_dns, keys):
    m = milters.get("logtemp", [("DNSTimeout", "1")],
                    nameservers=temp_dns.spec)
    # DMARC record: SERVFAIL
    res = m.send(make_msg(from_="user@servfail-dmarc.example"),
                 mailfrom="<user@servfail-dmarc.example>",
                 client_addr=BAD_IP, timeout=60)
    ar = [op.value for op in res.ops if op.kind == "insert"][0]
    _, got = ar_entries(ar)
    dm = [g for g in got if g[0] == "dmarc"]
    assert dm and dm[0][1] == "temperror", ar
    assert "_dmarc.servfail-dmarc.example: SERVFAIL" in (dm[0][3] or ""), ar
    s = m.summary(res.qid)
    assert "_dmarc.servfail-dmarc.example: SERVFAIL" in s["dmarc.reason"], \
        s["line"]
    # SPF record: SERVFAIL
    res = m.send(make_msg(from_="user@servfail-spf.example"),
                 mailfrom="<user@servfail-spf.example>", client_addr=GOOD_IP,
                 timeout=60)
    ar = [op.value for op in res.ops if op.kind == "insert"][0]
    _, got = ar_entries(ar)
    sp = [g for g in got if g[0] == "spf" and "smtp.mailfrom" in g[2]]
    assert sp and sp[0][1] == "temperror", ar
    assert sp[0][3] == "servfail-spf.example: SERVFAIL", ar
    s = m.summary(res.qid)
    assert s["spf.reason"] == "servfail-spf.example: SERVFAIL", s["line"]
    # DKIM key: no answer (time-out)
    msg = sign(make_msg(from_="user@dkimdrop.example"), "sel",
               "dkimdrop.example", keys.rsa_key)
    res = m.send(msg, mailfrom="<user@dkimdrop.example>", client_addr=BAD_IP,
                 timeout=60)
    ar = [op.value for op in res.ops if op.kind == "insert"][0]
    parse_ar(ar)
    _, got = ar_entries(ar)
    dk = [g for g in got if g[0] == "dkim"]
    assert dk and dk[0][1] == "temperror", ar
    assert dk[0][3] == "sel._domainkey.dkimdrop.example: timeout", ar
    s = m.summary(res.qid)
    assert s["dkim.reason"] == ("dkimdrop.example: sel._domainkey."
                                "dkimdrop.example: timeout"), s["line"]
    # DMARC's temperror says which identifier might have aligned
    assert s["dmarc.reason"].endswith(
        ": DKIM dkimdrop.example (sel._domainkey.dkimdrop.example: timeout)"), \
        s["line"]
