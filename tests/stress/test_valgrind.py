"""authmilter under valgrind memcheck: a few hundred messages of every
kind (pass, fail and reject, quarantine, DKIM pass and fail, forged A-R,
several From, IDN, aborted transactions, exempt clients), then SIGTERM.
Must end with zero memcheck errors and zero definitely lost bytes.
Suppressions (valgrind.supp) are only for library-internal reports."""

import os
import re
import shutil
import stat

import pytest

from milter_harness import BAD_IP, GOOD_IP, Authmilter, make_msg, sign
from milterclient import MilterClient, transaction

HERE = os.path.dirname(os.path.abspath(__file__))
VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
ROUNDS = int(os.environ.get("VALGRIND_ROUNDS", "22"))   # 308 messages


def wrapper(workdir, binary, log):
    """a script that runs the daemon under memcheck (the factory runs
    'binary -f -c conf')"""
    path = os.path.join(workdir, "authmilter-valgrind")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s --tool=memcheck --leak-check=full "
                "--show-leak-kinds=definite --errors-for-leak-kinds=definite "
                "--track-origins=no --num-callers=30 --child-silent-after-fork=yes "
                "--suppressions=%s --log-file=%s %s \"$@\"\n"
                % (VALGRIND, os.path.join(HERE, "valgrind.supp"), log, binary))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def messages(keys):
    """(message, send kwargs) of every kind; sent ROUNDS times"""
    good = dict(mailfrom="<user@example.org>", client_addr=GOOD_IP,
                helo="mail.example.org")
    bad = dict(mailfrom="<a@example.com>", client_addr=BAD_IP,
               helo="mail.example.com")
    signed = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
                  keys.rsa_key)
    ed = sign(make_msg(from_="user@example.org"), "ed", "example.org",
              keys.ed_key, signalg="ed25519-sha256")
    return [
        (make_msg(from_="user@example.org"), good),
        (signed, bad),
        (ed, good),
        (signed.replace(b"this is a test", b"this is a TEST"), bad),
        (make_msg(from_="ceo@example.org"), bad),
        (make_msg(from_="boss@example.biz"), bad),
        (make_msg(from_headers=["a@example.com", "ceo@example.org"]), bad),
        (make_msg(from_="x@example.com", headers=[
            ("Authentication-Results", "MX.AUTHMILTER.EXAMPLE; dmarc=pass")]),
         bad),
        (make_msg(from_="=?utf-8?q?x?= <u@b\u00fccher.example>"), bad),
        (make_msg(from_headers=[]), bad),
        (make_msg(from_="user@nonexistent.example.com"), bad),
        (make_msg(from_="user@example.org"),
         dict(good, client_addr="::ffff:" + GOOD_IP, family="6")),
    ]


@pytest.mark.xdist_group("cpu")
def test_memcheck_clean(nsd, keys, authmilter_bin, tmp_path):
    workdir = str(tmp_path)
    log = os.path.join(workdir, "valgrind.%p.log")
    m = Authmilter(wrapper(workdir, authmilter_bin, log), workdir, "vg",
                   "127.0.0.1@%d" % nsd.port, [("IgnoreHosts", "192.0.2.99")])
    m.start(timeout=60)
    try:
        sent = 0
        msgs = messages(keys)
        for _ in range(ROUNDS):
            for msg, kw in msgs:
                res = m.send(msg, timeout=60, **kw)
                assert res.step == "eom", res
                sent += 1
            # an aborted transaction, and an exempt client
            with MilterClient(m.spec, timeout=60) as c:
                c.optneg()
                c.connect("x.example", "4", 4000, BAD_IP)
                c.helo("x.example")
                c.mail("<a@example.com>")
                c.abort()
                transaction(c, make_msg(from_="user@example.org"),
                            mailfrom="<user@example.org>")
                c.quit()
            res = m.send(make_msg(from_="user@example.org"),
                         client_addr="192.0.2.99", timeout=60)
            sent += 2
        assert sent == ROUNDS * (len(msgs) + 2)
    finally:
        m.terminate()
        rc = m.wait(120)
    assert rc == 0, "exit %r\n%s" % (rc, m.log()[-2000:])
    logs = [os.path.join(workdir, f) for f in os.listdir(workdir)
            if f.startswith("valgrind.")]
    assert logs, "no valgrind log"
    for path in logs:
        text = open(path).read()
        errs = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
        assert errs, "no ERROR SUMMARY in %s:\n%s" % (path, text[-3000:])
        assert errs.group(1) == "0", text[-20000:]
        assert lost is None or lost.group(1) == "0", text[-20000:]
