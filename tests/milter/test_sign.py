"""DKIM signing (issue 18) through the milter: who is signed, what the
signatures are worth to two verifiers (dkimpy and authmilter itself), and
what a bad key configuration does at start and at reload.

The signing daemon signs example.org with two keys (rsa 2048 and ed25519,
RFC 8463 dual signing) whose public keys nsd publishes at
rsa._domainkey.example.org and ed._domainkey.example.org.
"""

import os
import re
import shutil
import signal
import subprocess
import time

import dkim
import pytest

from conftest import (AUTHSERV_ID, BAD_IP, GOOD_IP, IGNORED_IP, OPENSSL,
                      ar_entries, make_msg, wait_for)
from milterclient import split_message
import sign_corpus

OUTSIDE_IP = "203.0.113.7"      # in no list of the signing daemon
INTERNAL_IP = "192.0.2.77"      # its InternalHosts
EX_CONFIG = 78


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return str(path)


@pytest.fixture(scope="module")
def signdir(keys, tmp_path_factory):
    """key files (0600, ours), KeyTable and SigningTable"""
    d = tmp_path_factory.mktemp("sign")
    shutil.copy(keys.rsa_key, d / "rsa.key")
    shutil.copy(keys.ed_key, d / "ed.key")
    os.chmod(d / "rsa.key", 0o600)
    os.chmod(d / "ed.key", 0o600)
    write(d / "keytable", "# name domain:selector:file\n"
          "rsa example.org:rsa:rsa.key\n"
          "ed  example.org:ed:%s\n" % (d / "ed.key"))
    write(d / "signtable", "*@example.org rsa\n*@example.org ed\n")
    return d


def sign_conf(d, *extra):
    return [("KeyTable", str(d / "keytable")),
            ("SigningTable", "refile:" + str(d / "signtable")),
            ("IgnoreHosts", "127.0.0.1, ::1, " + IGNORED_IP),
            ("InternalHosts", INTERNAL_IP)] + list(extra)


@pytest.fixture(scope="module")
def signer(milters, signdir):
    return milters.get("sign", sign_conf(signdir))


def send(m, msg, client=OUTSIDE_IP, auth=None, mailfrom="<user@example.org>"):
    return m.send(msg, client_addr=client, auth_authen=auth,
                  mailfrom=mailfrom)


def delivered(res, msg):
    """the message as the MTA delivers it: the filter's inserts applied,
    each value as sent (raw, with its own leading space), and the body
    ending in a line end (an MTA stores lines: Postfix and sendmail add it)"""
    headers, body = split_message(msg)
    if body and not body.endswith(b"\n"):
        body += b"\r\n"
    out = list(headers)
    for op in res.ops:
        if op.kind == "insert":
            out.insert(min(op.index, len(out)), (op.name, op.raw))
        else:
            assert op.kind == "change" and op.value == "", op
    head = b"".join(
        (n + ":" + v.replace("\r\n", "\n").replace("\n", "\r\n") +
         "\r\n").encode("utf-8", "surrogateescape") for n, v in out)
    return head + b"\r\n" + body


def signatures(res):
    """the DKIM-Signature fields the filter added: at the top, with the
    leading space Postfix needs under HDR_LEADSPC"""
    sigs = [op for op in res.ops if op.name.lower() == "dkim-signature"]
    for op in sigs:
        assert op.kind == "insert" and op.index == 0 and op.leadspc_ok, op
    return sigs


def tags(value):
    v = re.sub(r"\s+", "", value)
    return dict(t.split("=", 1) for t in v.split(";") if "=" in t)


def dkimpy_results(msg, nsd):
    """dkimpy's verdict on every DKIM-Signature of msg, in order"""
    d = dkim.DKIM(msg)
    n = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
    return [d.verify(idx=i, dnsfunc=lambda name, timeout=5: nsd.txt(name))
            for i in range(n)]


def authmilter_results(milter, msg):
    """(dkim entries, dmarc result) of the verifying daemon for msg, sent
    from a client that fails example.org's SPF: DMARC can only pass by
    aligned DKIM"""
    res = milter.send(msg, client_addr=BAD_IP, mailfrom="<user@example.org>")
    # the signing daemon's own A-R (same authserv-id) is removed as forged
    ars = [op for op in res.ops if op.name.lower() ==
           "authentication-results" and op.kind == "insert"]
    assert res.action in ("continue", "accept") and len(ars) == 1, res
    _, got = ar_entries(ars[0].value)
    dk = {e[2].get("header.s"): e[1] for e in got if e[0] == "dkim"}
    dm = [e[1] for e in got if e[0] == "dmarc"]
    return dk, dm[0] if dm else None


# ---------------------------------------------------------------- who

def test_authenticated_client_is_signed(signer, nsd):
    msg = make_msg()
    res = send(signer, msg, auth="joe")
    sigs = signatures(res)
    # in the order sent; each at the top, so ed25519 ends up above rsa
    assert [tags(s.value)["a"] for s in sigs] == \
        ["rsa-sha256", "ed25519-sha256"]
    for s in sigs:
        t = tags(s.value)
        assert t["c"] == "relaxed/relaxed" and t["d"] == "example.org"
        assert "l" not in t
        h = t["h"].lower().split(":")
        assert h.count("from") == 2 and h.count("subject") == 2, h
    assert dkimpy_results(delivered(res, msg), nsd) == [True, True]
    s = signer.summary(res.qid)
    assert s["sign"] == ("auth:rsa-sha256:example.org:rsa,"
                         "ed25519-sha256:example.org:ed"), s["line"]


def test_outside_client_is_never_signed(signer):
    res = send(signer, make_msg(), client=GOOD_IP)
    assert signatures(res) == []
    assert res.action in ("continue", "accept")
    assert signer.summary(res.qid)["sign"] == "outside"
    # a From of the signing domain from outside: verified, not signed
    res = send(signer, make_msg(), client=OUTSIDE_IP)
    assert signatures(res) == []


def test_ignorehosts_client_is_signed(signer, nsd):
    msg = make_msg()
    res = send(signer, msg, client=IGNORED_IP)
    assert len(signatures(res)) == 2
    assert dkimpy_results(delivered(res, msg), nsd) == [True, True]
    assert signer.summary(res.qid)["sign"].startswith("ignorehosts:")


def test_mta_own_submission_is_signed(signer, nsd):
    """Postfix's non_smtpd_milters (sendmail, pickup) connect as
    localhost [127.0.0.1], in IgnoreHosts by default"""
    msg = make_msg()
    res = signer.send(msg, client_addr="127.0.0.1", client_name="localhost",
                      helo=None, mailfrom="<user@example.org>")
    assert len(signatures(res)) == 2
    assert dkimpy_results(delivered(res, msg), nsd) == [True, True]


def test_internalhosts_client_is_signed_not_verified(signer, nsd):
    msg = make_msg()
    res = send(signer, msg, client=INTERNAL_IP)
    assert len(signatures(res)) == 2
    ar = [op.value for op in res.ops
          if op.name.lower() == "authentication-results"]
    assert ar and "none" in ar[0], ar
    s = signer.summary(res.qid)
    assert s["sign"].startswith("internalhosts:") and s.get("exempt") == "yes"


def test_no_key_for_the_from_domain(signer):
    res = send(signer, make_msg(from_="joe@example.net"), auth="joe",
               mailfrom="<joe@example.net>")
    assert signatures(res) == []
    s = signer.summary(res.qid)
    assert s["sign"] == "auth:no" and \
        s["sign.reason"] == "no key for the From address", s["line"]


def test_two_from_fields_not_signed(signer):
    res = send(signer, make_msg(from_headers=["a@example.org",
                                              "b@example.org"]), auth="joe")
    assert signatures(res) == []
    assert signer.summary(res.qid)["sign.reason"] == "no usable From address"


# ---------------------------------------------------------------- corpus

def test_signatures_verify_with_dkimpy_and_authmilter(signer, milter, nsd):
    """Every signature over the corpus (sign_corpus.py) verifies with
    dkimpy and with authmilter's own verifier, and the signed message
    passes DMARC (p=reject, SPF failing) by aligned DKIM."""
    n_diff = int(os.environ.get("SIGN_CORPUS_DIFF", "40"))
    n_made = int(os.environ.get("SIGN_CORPUS_MADE", "40"))
    msgs = sign_corpus.corpus(n_diff, n_made, 1)
    counts = {"rsa-sha256": [0, 0, 0], "ed25519-sha256": [0, 0, 0]}
    problems = []
    for name, msg in msgs:
        res = send(signer, msg, auth="joe")
        sigs = signatures(res)
        if len(sigs) != 2:
            problems.append("%s: %d signatures (%s)" % (
                name, len(sigs), signer.summary(res.qid)["line"]))
            continue
        out = delivered(res, msg)
        py = dkimpy_results(out, nsd)
        am, dmarc = authmilter_results(milter, out)
        for sig, ok in zip(sigs, py):
            t = tags(sig.value)
            c = counts[t["a"]]
            c[0] += 1
            c[1] += ok
            c[2] += am.get(t["s"]) == "pass"
            if not ok or am.get(t["s"]) != "pass":
                problems.append("%s: %s dkimpy=%s authmilter=%s" % (
                    name, t["a"], ok, am.get(t["s"])))
        if dmarc != "pass":
            problems.append("%s: dmarc=%s" % (name, dmarc))
    for alg, (n, py, am) in sorted(counts.items()):
        print("signing %s: %d signatures, dkimpy pass %d/%d, authmilter "
              "pass %d/%d" % (alg, n, py, n, am, n))
    assert not problems, "\n".join(problems[:30])
    assert counts["rsa-sha256"][0] == len(msgs)


# ---------------------------------------------------------------- config

def bad_start(milters, name, overrides):
    m = milters.new(name, overrides)
    with pytest.raises(RuntimeError):
        m.start()
    assert m.wait(5) == EX_CONFIG, m.log()
    return m.log()


def genrsa(path, bits):
    subprocess.run([OPENSSL, "genrsa", "-out", str(path), str(bits)],
                   check=True, capture_output=True)
    os.chmod(path, 0o600)


@pytest.mark.parametrize("case", ["group", "missing", "rsa1024",
                                  "nokey", "unreadable"])
def test_bad_key_config_exits_ex_config(milters, signdir, tmp_path, case):
    kt = tmp_path / "keytable"
    st = write(tmp_path / "signtable", "*@example.org k\n")
    key = tmp_path / "k.key"
    shutil.copy(signdir / "rsa.key", key)
    os.chmod(key, 0o600)
    want = None
    if case == "group":
        os.chmod(key, 0o640)
        want = r"keytable:2: key file %s: readable or writable by group" \
            % re.escape(str(key))
    elif case == "missing":
        key = tmp_path / "missing.key"
        want = r"keytable:2: key file %s: No such file" % re.escape(str(key))
    elif case == "rsa1024":
        genrsa(key, 1024)
        want = r"keytable:2: key file %s: RSA key of 1024 bits" % \
            re.escape(str(key))
    elif case == "nokey":
        st = write(tmp_path / "signtable", "# x\n*@example.org other\n")
        want = r"signtable:2: key other is not in the KeyTable"
    elif case == "unreadable":
        os.remove(key)
        os.mkdir(key)
        want = r"keytable:2: key file %s: not a regular file" % \
            re.escape(str(key))
    write(kt, "# keys\nk example.org:rsa:%s\n" % key)
    log = bad_start(milters, "badkey-" + case,
                    [("KeyTable", str(kt)), ("SigningTable", st)])
    assert re.search(want, log), log
    assert "PRIVATE KEY" not in log


def test_keyfile_trio_error_names_config_line(milters, tmp_path):
    key = tmp_path / "short.key"
    genrsa(key, 1024)
    m = milters.new("trio-bad", [("Domain", "example.org"),
                                 ("Selector", "rsa"), ("KeyFile", str(key))])
    with pytest.raises(RuntimeError):
        m.start()
    assert m.wait(5) == EX_CONFIG
    assert re.search(r"authmilter-trio-bad\.conf:\d+: KeyFile: key file "
                     r"%s: RSA key of 1024 bits" % re.escape(str(key)),
                     m.log()), m.log()


def test_reload_with_bad_key_keeps_signing(milters, signdir, tmp_path, nsd):
    d = tmp_path
    for f in ("rsa.key", "ed.key", "keytable", "signtable"):
        shutil.copy(signdir / f, d / f)
    os.chmod(d / "rsa.key", 0o600)
    os.chmod(d / "ed.key", 0o600)
    write(d / "keytable", "rsa example.org:rsa:rsa.key\n"
          "ed example.org:ed:ed.key\n")
    m = milters.new("sign-reload", sign_conf(d)).start()
    os.chmod(d / "ed.key", 0o644)
    before = len(m.log())
    m.proc.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: "ed.key: readable or writable by group" in
                    m.log()[before:], 5), m.log()[before:]
    msg = make_msg()
    res = send(m, msg, auth="joe")
    assert len(signatures(res)) == 2
    assert dkimpy_results(delivered(res, msg), nsd) == [True, True]
    assert m.proc.poll() is None


# ---------------------------------------------------------------- keygen

def zone_txt(path):
    """the record text of a SELECTOR.txt written by authmilter-keygen"""
    with open(path) as f:
        return "".join(re.findall(r'"([^"]*)"', f.read()))


def test_keygen_keys_sign_and_verify(milters, authmilter_bin, tmp_path):
    keygen = os.path.join(os.path.dirname(authmilter_bin), "authmilter-keygen")
    lines, records = [], {}
    for t, sel in (("rsa", "kr"), ("ed25519", "ke")):
        out = subprocess.run([keygen, "-t", t, "-d", "example.org", "-s", sel,
                              "-D", str(tmp_path)], check=True,
                             capture_output=True, text=True).stdout
        lines.append(out)
        priv = tmp_path / (sel + ".private")
        assert os.stat(priv).st_mode & 0o777 == 0o600
        assert "PRIVATE KEY" in priv.read_text() and "PRIVATE" not in out
        rec = zone_txt(tmp_path / (sel + ".txt"))
        assert rec.startswith("v=DKIM1; k=%s; p=" % t), rec
        records[("%s._domainkey.example.org" % sel).encode()] = rec.encode()
    # never over an existing key
    r = subprocess.run([keygen, "-s", "kr", "-D", str(tmp_path)],
                       capture_output=True)
    assert r.returncode == 73 and b"File exists" in r.stderr
    r = subprocess.run([keygen, "-b", "1024", "-D", str(tmp_path)],
                       capture_output=True)
    assert r.returncode == 64
    kt = write(tmp_path / "keytable", "".join(lines))
    st = write(tmp_path / "signtable", "example.org kr\nexample.org ke\n")
    m = milters.new("keygen", [("KeyTable", kt), ("SigningTable", st)]).start()
    msg = make_msg()
    res = send(m, msg, auth="joe")
    assert len(signatures(res)) == 2
    d = dkim.DKIM(delivered(res, msg))
    assert [d.verify(idx=i, dnsfunc=lambda n, timeout=5:
                     records.get(n.rstrip(b".")))
            for i in range(2)] == [True, True]


# ---------------------------------------------------------------- self-check

def test_key_record_mismatch_is_logged(milters, keys, signer, tmp_path):
    """at start every key is looked up: a record that is not the key's, or
    none, is logged (the daemon still starts and signs)"""
    other = tmp_path / "other.key"
    shutil.copy(keys.rsa_other_key, other)
    os.chmod(other, 0o600)
    kt = write(tmp_path / "keytable", "mism example.org:rsa:%s\n"
               "unpub example.org:nosuch:%s\n" % (other, other))
    st = write(tmp_path / "signtable", "*@example.org mism\n")
    m = milters.new("selfcheck", [("KeyTable", kt),
                                  ("SigningTable", st)]).start()
    assert wait_for(lambda: "no record at nosuch._domainkey.example.org" in
                    m.log(), 5), m.log()
    assert re.search(r"signing key mism \(%s\): the record at "
                     r"rsa\._domainkey\.example\.org does not match"
                     % re.escape(str(other)), m.log()), m.log()
    assert "PRIVATE KEY" not in m.log()
    # the good keys of the signing daemon: found, no warning
    assert "signing key rsa: rsa._domainkey.example.org publishes it" in \
        signer.log()
    assert "does not match" not in signer.log()


def test_stop_is_not_held_by_the_key_self_check(milters, keys, tmp_path,
                                                 nsd):
    """the key self-check runs in the reload thread, which cannot be
    cancelled in a DNS look-up: with every key's record unanswered, a
    SIGTERM waits for the look-up in progress only (one DNSTimeout), not
    for all AM_SIGN_CHECK_MAX of them"""
    from faultdns import FaultDNS
    proxy = FaultDNS(nsd.port, {"*._domainkey.slow.example": "drop"})
    try:
        key = tmp_path / "k.key"
        shutil.copy(keys.rsa_key, key)
        os.chmod(key, 0o600)
        kt = write(tmp_path / "keytable", "".join(
            "k%d slow.example:s%d:%s\n" % (i, i, key) for i in range(8)))
        st = write(tmp_path / "signtable", "*@slow.example k0\n")
        m = milters.new("selfcheck-stop", [("KeyTable", kt),
                                           ("SigningTable", st),
                                           ("DNSTimeout", "2")],
                        nameservers=proxy.spec).start()
        assert wait_for(lambda: any(n.endswith("_domainkey.slow.example")
                                    for _, n, _ in proxy.seen), 5)
        t0 = time.monotonic()
        m.terminate()
        rc = m.wait(30)
        took = time.monotonic() - t0
        # 8 keys x 2 s = 16 s before; one look-up (<= 2 s) plus the stop now
        assert rc == 0 and took < 6, (rc, took, m.log()[-2000:])
    finally:
        proxy.close()
