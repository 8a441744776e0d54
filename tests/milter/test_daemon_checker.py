"""The offline checker: authmilter -t FILE runs the milter's pipeline on a
message file with the same config and resolver (the nsd test zone) and
prints the A-R header, the action and the summary line."""

import subprocess

import pytest

from conftest import (BAD_IP, GOOD_IP, Authmilter, assert_ar, make_msg,
                      sign)


@pytest.fixture(scope="module")
def conf(authmilter_bin, nsd, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("checker"))
    return Authmilter(authmilter_bin, d, "checker",
                      "127.0.0.1@%d" % nsd.port).conf


def check(authmilter_bin, conf, path, *args):
    p = subprocess.run([authmilter_bin, "-c", conf, "-t", str(path)] +
                       list(args), capture_output=True, text=True,
                       timeout=30)
    out = {}
    key = None
    for line in p.stdout.splitlines():
        if line[:1] in (" ", "\t") and key:     # a folded header line
            out[key] += "\n" + line
            continue
        key, _, v = line.partition(": ")
        out[key] = v
    return p, out


@pytest.mark.parametrize("canon,lf", [("relaxed", False), ("simple", False),
                                      ("relaxed", True), ("simple", True)])
def test_checker_pass(authmilter_bin, conf, keys, tmp_path, canon, lf):
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key, hcanon=canon, bcanon=canon)
    if lf:
        msg = msg.replace(b"\r\n", b"\n")
    f = tmp_path / "m.eml"
    f.write_bytes(msg)
    p, out = check(authmilter_bin, conf, f, "-i", GOOD_IP, "-H",
                   "mail.example.org", "-m", "<user@example.org>")
    assert p.returncode == 0, p
    assert out["Action"] == "accept", p.stdout
    assert_ar(out["Authentication-Results"], [
        ("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
        ("dkim", "pass", {"header.d": "example.org"}),
        ("dmarc", "pass", {"header.from": "example.org"})])
    assert "action=accept" in out["Summary"]


def test_checker_reject(authmilter_bin, conf, tmp_path):
    f = tmp_path / "m.eml"
    f.write_bytes(make_msg(from_="user@example.org"))
    p, out = check(authmilter_bin, conf, f, "-i", BAD_IP, "-H",
                   "mail.example.org", "-m", "user@example.org")
    assert p.returncode == 0, p
    assert out["Action"].startswith("reject 550 5.7.26 "), p.stdout
    assert "example.org" in out["Action"]
    assert_ar(out["Authentication-Results"], [
        ("spf", "fail", {}), ("dkim", "none", {}),
        ("dmarc", "fail", {"header.from": "example.org"})])


def test_checker_exempt_auth_and_stdin(authmilter_bin, conf):
    p = subprocess.run([authmilter_bin, "-c", conf, "-t", "-", "-i", BAD_IP,
                        "-a", "alice"], input=make_msg(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p
    out = p.stdout.decode()
    assert "Action: accept" in out and "exempt" in out, out


def test_checker_errors(authmilter_bin, conf, tmp_path):
    p, _ = check(authmilter_bin, conf, tmp_path / "missing.eml")
    assert p.returncode == 66 and "missing.eml" in p.stderr, p   # EX_NOINPUT
    f = tmp_path / "m.eml"
    f.write_bytes(make_msg())
    p, _ = check(authmilter_bin, conf, f, "-i", "not-an-ip")
    assert p.returncode == 64, p                                 # EX_USAGE
    p = subprocess.run([authmilter_bin, "-i", GOOD_IP], capture_output=True,
                       timeout=10)
    assert p.returncode == 64, p        # -i without -t
