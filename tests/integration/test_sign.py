"""DKIM signing through the real Postfix (issue 18).

An instance of its own: a "submit" listener whose authmilter signs
example.org (rsa and ed25519 keys, published in the test zone at
rsa._domainkey / ed._domainkey), the same authmilter as
non_smtpd_milters (mail from sendmail(1) via pickup), and an "inbound"
listener whose authmilter only verifies.  The assertions are on the
messages Postfix delivered."""

import os
import re
import shutil
import subprocess

import dkim
import pytest

from milter_harness import (BAD_IP, Authmilter, ar_entries, free_port,
                            make_msg)
from postfix import DOMAIN, Postfix, headers_of, queue_id_of

SENDMAIL = shutil.which("sendmail") or "/usr/sbin/sendmail"
DELIVERY_HEADERS = (b"return-path:", b"delivered-to:", b"x-original-to:")


class SignPostfix(Postfix):
    """Postfix with non_smtpd_milters set (the class leaves it empty)"""

    def __init__(self, listeners, non_smtpd):
        super().__init__(listeners)
        self.non_smtpd = non_smtpd

    def _write_config(self):
        super()._write_config()
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            f.write("non_smtpd_milters = %s\n" % self.non_smtpd)


@pytest.fixture(scope="module")
def signstack(authmilter_bin, nsd, keys, workdir, tmp_path_factory):
    d = tmp_path_factory.mktemp("pfsign")
    for name, src in (("rsa.key", keys.rsa_key), ("ed.key", keys.ed_key)):
        shutil.copy(src, d / name)
        os.chmod(d / name, 0o600)
    (d / "keytable").write_text("rsa example.org:rsa:%s\ned example.org:ed:%s\n"
                                % (d / "rsa.key", d / "ed.key"))
    (d / "signtable").write_text("*@example.org rsa\n*@example.org ed\n")
    ns = "127.0.0.1@%d" % nsd.port
    signer = Authmilter(authmilter_bin, workdir, "pf-sign", ns, [
        ("KeyTable", str(d / "keytable")),
        ("SigningTable", "refile:" + str(d / "signtable"))]).start()
    verifier = Authmilter(authmilter_bin, workdir, "pf-verify", ns).start()
    spec = lambda m: "inet:127.0.0.1:%d" % m.port  # noqa: E731
    pf = None
    try:
        pf = SignPostfix({
            "submit": (free_port(), {"smtpd_milters": spec(signer)}),
            "inbound": (free_port(), {"smtpd_milters": spec(verifier)}),
        }, spec(signer)).start()
        yield pf, signer, verifier
    finally:
        if pf is not None:
            pf.stop()
        for m in (signer, verifier):
            m.terminate()
            m.wait(10)
        if pf is not None:
            pf.cleanup()


def sigs_of(raw):
    return [v for n, v in headers_of(raw) if n.lower() == "dkim-signature"]


def dkimpy_all(raw, nsd):
    d = dkim.DKIM(raw)
    n = len(sigs_of(raw))
    return [d.verify(idx=i, dnsfunc=lambda name, timeout=5: nsd.txt(name))
            for i in range(n)]


def strip_delivery(raw):
    """the message as queued: without the delivery agent's own headers"""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    while lines and lines[0].lower().startswith(DELIVERY_HEADERS):
        lines.pop(0)
    return b"\r\n".join(lines)


def test_submission_with_auth_is_signed(signstack, nsd):
    pf, signer, _ = signstack
    msg = make_msg(msgid="pfs-auth")
    code, text = pf.send("submit", msg, "user@example.org", addr=BAD_IP,
                         helo="laptop.example.com", login="user@example.org")
    assert code == 250, (code, text, pf.log()[-2000:])
    raw = pf.delivered("<pfs-auth@example.org>")
    assert raw is not None, pf.log()[-3000:]
    assert len(sigs_of(raw)) == 2, raw[:1500]
    assert dkimpy_all(raw, nsd) == [True, True]
    kv = signer.summary(queue_id_of(text))
    assert kv["sign"].startswith("auth:rsa-sha256:example.org:rsa,"), kv["line"]


def test_relayed_from_outside_is_not_signed(signstack):
    pf, signer, _ = signstack
    msg = make_msg(msgid="pfs-outside")
    code, text = pf.send("submit", msg, "user@example.org", addr="192.0.2.10")
    assert code == 250, (code, text)
    raw = pf.delivered("<pfs-outside@example.org>")
    assert raw is not None, pf.log()[-3000:]
    assert sigs_of(raw) == []
    assert signer.summary(queue_id_of(text))["sign"] == "outside"


def test_sendmail_submission_is_signed(signstack, nsd):
    """sendmail(1) -> postdrop -> pickup -> cleanup: non_smtpd_milters"""
    pf, signer, _ = signstack
    msg = make_msg(msgid="pfs-sendmail", to="rcpt@" + DOMAIN)
    r = subprocess.run([SENDMAIL, "-C", pf.etc, "-f", "user@example.org",
                        "rcpt@" + DOMAIN], input=msg.replace(b"\r\n", b"\n"),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r
    raw = pf.delivered("<pfs-sendmail@example.org>", timeout=30)
    assert raw is not None, pf.log()[-3000:]
    assert len(sigs_of(raw)) == 2, raw[:1500]
    assert dkimpy_all(raw, nsd) == [True, True]
    assert re.search(r"sign=ignorehosts:rsa-sha256", signer.log()), \
        signer.log()[-2000:]


def test_signed_then_inbound_passes_dkim_and_dmarc(signstack):
    """the signed message sent back in from a client that fails
    example.org's SPF (p=reject): DMARC passes by aligned DKIM alone"""
    pf, _, verifier = signstack
    code, text = pf.send("submit", make_msg(msgid="pfs-loop"),
                         "user@example.org", addr=BAD_IP,
                         helo="laptop.example.com", login="user@example.org")
    assert code == 250, (code, text)
    out = pf.delivered("<pfs-loop@example.org>")
    assert out is not None, pf.log()[-3000:]
    code, text = pf.send("inbound", strip_delivery(out), "user@example.org",
                         addr=BAD_IP, helo="mail.example.com")
    assert code == 250, (code, text, verifier.log()[-2000:])
    qid = queue_id_of(text)
    kv = verifier.summary(qid)
    assert kv["dkim"] == "pass:example.org,pass:example.org", kv["line"]
    assert kv["dmarc"] == "pass" and kv["spf"] == "fail", kv["line"]
    assert kv["action"] == "accept", kv["line"]
    # the delivered copy (found by the queue id in Postfix's Received:)
    raw = pf.delivered(" id " + qid)
    assert raw is not None, pf.log()[-3000:]
    ars = [v for n, v in headers_of(raw) if n.lower() ==
           "authentication-results" and "dmarc=" in v]
    assert len(ars) == 1, ars
    _, got = ar_entries(ars[0])
    assert sorted((e[0], e[1], e[2].get("header.s")) for e in got
                  if e[0] in ("dkim", "dmarc")) == [
        ("dkim", "pass", "ed"), ("dkim", "pass", "rsa"),
        ("dmarc", "pass", None)], got
