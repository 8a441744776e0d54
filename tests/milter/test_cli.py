"""The daemon as a program: -V, -n with good and bad configs, the summary
log line, and a clean shutdown on SIGTERM."""

import os
import re
import signal
import socket
import subprocess

from conftest import GOOD_IP, BAD_IP, accepted_ar, make_msg, sign

BAD_CONF = """\
# line 1: a comment
Socket inet:8895@127.0.0.1
NoSuchKey yes
DNSTimeout abc
RejectFailures maybe

IgnoreHosts 192.0.2.0/99
OnTempError explode
AuthservID mx.authmilter.example
"""
BAD_LINES = [3, 4, 5, 7, 8]


def test_version(authmilter_bin):
    p = subprocess.run([authmilter_bin, "-V"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 0, p
    assert re.match(r"authmilter \d+(\.\d+)*\S*\s*$", p.stdout), p.stdout


def test_config_errors_all_reported(authmilter_bin, tmp_path):
    (tmp_path / "bad.conf").write_text(BAD_CONF)
    p = subprocess.run([authmilter_bin, "-n", "-c", "bad.conf"],
                       cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=10)
    assert p.returncode != 0, p
    out = p.stdout + p.stderr
    for line in BAD_LINES:
        assert re.search(r"^bad\.conf:%d: \S" % line, out, re.M), \
            "no bad.conf:%d: error in:\n%s" % (line, out)
    reported = sorted({int(n) for n in re.findall(r"^bad\.conf:(\d+):", out,
                                                  re.M)})
    assert reported == BAD_LINES, out


def test_config_check_ok(authmilter_bin, tmp_path):
    (tmp_path / "good.conf").write_text(
        "Socket inet:8895@127.0.0.1\nAuthservID mx.authmilter.example\n"
        "RejectFailures no\nIgnoreHosts 192.0.2.0/24, 2001:db8::/32\n")
    p = subprocess.run([authmilter_bin, "-n", "-c", "good.conf"],
                       cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, p


def test_config_unreadable(authmilter_bin, tmp_path):
    p = subprocess.run([authmilter_bin, "-n", "-c",
                        str(tmp_path / "missing.conf")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert "missing.conf" in p.stdout + p.stderr


def check_config(authmilter_bin, path, cwd=None):
    """authmilter -n -c path: a regression that blocks fails by the
    timeout instead of hanging the suite"""
    return subprocess.run([authmilter_bin, "-n", "-c", path], cwd=cwd,
                          capture_output=True, text=True, timeout=10)


def test_config_names_fifo(authmilter_bin, tmp_path):
    """a FIFO named by IgnoreHosts (or as the config): exit 78 at once,
    the problem at the key's file:line"""
    os.mkfifo(str(tmp_path / "hosts"))
    (tmp_path / "fifo.conf").write_text("# hosts\nIgnoreHosts ./hosts\n")
    p = check_config(authmilter_bin, "fifo.conf", cwd=str(tmp_path))
    assert p.returncode == 78, p
    assert re.search(r"^fifo\.conf:2: IgnoreHosts: \S*hosts: is a FIFO, "
                     r"not a regular file$", p.stderr, re.M), p.stderr
    p = check_config(authmilter_bin, "hosts", cwd=str(tmp_path))
    assert p.returncode == 78, p
    assert "hosts: is a FIFO, not a regular file" in p.stderr, p.stderr


def test_config_device(authmilter_bin):
    """the config file /dev/zero: refused, not read until memory runs out"""
    p = check_config(authmilter_bin, "/dev/zero")
    assert p.returncode == 78, p
    assert "/dev/zero: is a character device, not a regular file" \
        in p.stderr, p.stderr


def test_config_nul_byte(authmilter_bin, tmp_path):
    """a NUL byte is an error at its line, not a truncated value"""
    (tmp_path / "nul.conf").write_bytes(
        b"Socket inet:8895@127.0.0.1\nAuthservID mx.example\0 evil\n")
    p = check_config(authmilter_bin, "nul.conf", cwd=str(tmp_path))
    assert p.returncode == 78, p
    assert re.search(r"^nul\.conf:2: NUL byte$", p.stderr, re.M), p.stderr


def test_summary_log_line_pass(milter, keys):
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=GOOD_IP)
    accepted_ar(res)
    s = milter.summary(res.qid)
    for key in ("spf", "dkim", "dmarc", "action"):
        assert key in s, "no %s= in %r" % (key, s["line"])
    assert s["spf"] == "pass" and s["dmarc"] == "pass", s["line"]
    assert s["dkim"] == "pass:example.org", s["line"]
    assert s["action"] == "accept", s["line"]
    assert s.get("client") == GOOD_IP, s["line"]
    assert s.get("from") == "example.org", s["line"]


def test_summary_log_line_reject(milter):
    res = milter.send(make_msg(from_="user@example.org"),
                      mailfrom="<user@example.org>", client_addr=BAD_IP)
    s = milter.summary(res.qid)
    assert s.get("spf") == "fail" and s.get("dkim") == "none", s["line"]
    assert s.get("dmarc") == "fail" and s.get("action") == "reject", s["line"]


def test_clean_shutdown_after_traffic(milters):
    m = milters.new("shutdown").start()
    try:
        res = m.send(make_msg(from_="user@example.org"),
                     mailfrom="<user@example.org>", client_addr=GOOD_IP)
        accepted_ar(res)
        m.proc.send_signal(signal.SIGTERM)
        rc = m.wait(10)
        assert rc is not None, "still running 10 s after SIGTERM"
        assert rc == 0, "exit status %s after SIGTERM:\n%s" % (rc, m.log())
    finally:
        m.kill()


def test_clean_shutdown_idle(milters):
    m = milters.new("shutdown-idle").start()
    try:
        m.proc.send_signal(signal.SIGTERM)
        rc = m.wait(10)
        assert rc == 0, "exit status %s after SIGTERM:\n%s" % (rc, m.log())
    finally:
        m.kill()


def test_socket_unix_with_stale_socket(milters, tmp_path):
    """a unix socket works, and a stale socket file left by a crashed run
    does not stop the start (shutdown status: see test_clean_shutdown_*)"""
    path = os.path.join(str(tmp_path), "am.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()                   # file stays, nobody listens
    m = milters.new("unix", [("Socket", "unix:" + path)]).start()
    try:
        res = m.send(make_msg(from_="user@example.org"),
                     mailfrom="<user@example.org>", client_addr=GOOD_IP)
        accepted_ar(res)
    finally:
        m.terminate()               # the pool checks its exit at the end
