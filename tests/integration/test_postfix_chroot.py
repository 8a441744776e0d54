"""Debian's chrooted smtpd and a unix socket (issue 16): the recipe of the
README ("Postfix", step 6) and conf/postfix-main.cf, run with a real
Postfix whose smtpd is chrooted to its queue directory.

authmilter listens on QUEUE/authmilter/authmilter.sock as UserID
nobody:postfix with UMask 007 (the unit's User= and UMask=0007, with the
postfix user in the socket's group); smtpd_milters is the commented line of
conf/postfix-main.cf, the name inside the chroot.  A message through that
smtpd gets our header; the smtpd really is chrooted (/proc/PID/root).
The DMARC history is on, as by default, in a directory of its own that
nobody can write (the test's work directory is root's): the message is
recorded there and no history error is logged."""

import grp
import os
import pwd
import re
import shutil
import sqlite3
import tempfile

import pytest

from milter_harness import (AUTHSERV_ID, GOOD_IP, Authmilter, assert_ar,
                            free_port, make_msg, sign, wait_for)
from postfix import Postfix, headers_of

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def documented_chroot_milter():
    """the smtpd_milters value of the chroot recipe in conf/postfix-main.cf"""
    with open(os.path.join(ROOT, "conf", "postfix-main.cf")) as f:
        found = re.findall(r"^#smtpd_milters = (unix:/\S+)$", f.read(), re.M)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def chroot_stack(authmilter_bin, nsd, workdir):
    spec = documented_chroot_milter()
    inside = spec[len("unix:"):]                 # /authmilter/authmilter.sock
    pf = Postfix({"chroot": (free_port(), {
        "smtpd_milters": spec, "milter_default_action": "tempfail"})},
        chroot=("chroot",))
    sockdir = os.path.join(pf.queue, os.path.dirname(inside).lstrip("/"))
    os.makedirs(sockdir)
    os.chown(sockdir, pwd.getpwnam("nobody").pw_uid,
             grp.getgrnam("postfix").gr_gid)
    os.chmod(sockdir, 0o750)
    sock = os.path.join(pf.queue, inside.lstrip("/"))
    # the history file where UserID can write it (as StateDirectory= is
    # the unit's user's); workdir is root's only
    histdir = tempfile.mkdtemp(prefix="authmilter-chroot-history-")
    os.chown(histdir, pwd.getpwnam("nobody").pw_uid, -1)
    m = Authmilter(authmilter_bin, workdir, "pf-chroot",
                   "127.0.0.1@%d" % nsd.port,
                   [("Socket", "unix:" + sock), ("UserID", "nobody:postfix"),
                    ("UMask", "007"),
                    ("HistoryDB", os.path.join(histdir, "history.db"))])
    m.history = os.path.join(histdir, "history.db")
    m.start()
    try:
        pf.start()
        yield pf, m, sock
    finally:
        pf.stop()
        m.terminate()
        assert m.wait(10) == 0, m.log()[-2000:]
        pf.cleanup()
        shutil.rmtree(histdir, ignore_errors=True)


def smtpd_roots(port):
    """/proc/PID/root of the smtpd processes serving 127.0.0.1:port"""
    roots = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            if argv[0].endswith(b"smtpd") and \
                    ("127.0.0.1:%d" % port).encode() in argv:
                roots.append(os.readlink("/proc/%s/root" % pid))
        except OSError:
            continue
    return roots


def test_chrooted_smtpd_reaches_unix_socket(chroot_stack, keys):
    pf, m, sock = chroot_stack
    st = os.stat(sock)
    assert st.st_gid == grp.getgrnam("postfix").gr_gid and \
        st.st_mode & 0o777 == 0o770, oct(st.st_mode)
    msg = sign(make_msg(msgid="pf-chroot"), "rsa", "example.org",
               keys.rsa_key)
    code, text = pf.send("chroot", msg, "user@example.org", addr=GOOD_IP)
    assert code == 250, (code, text, pf.log()[-2000:])
    # the smtpd that took it (idle now, for max_idle) runs in the chroot;
    # one the master has just forked is still at / for a moment, until it
    # chroots (seen on a loaded machine): wait for that, not for ever
    roots = []

    def chrooted():
        roots[:] = smtpd_roots(pf.port("chroot"))
        return roots and set(roots) == {os.path.realpath(pf.queue)}
    wait_for(chrooted, 5)
    assert roots and set(roots) == {os.path.realpath(pf.queue)}, roots
    raw = pf.delivered("<pf-chroot@example.org>")
    assert raw is not None, pf.log()[-3000:]
    ours = [v for n, v in headers_of(raw)
            if n.lower() == "authentication-results"]
    assert len(ours) == 1, ours
    assert_ar(ours[0], [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
                        ("dkim", "pass", {"header.d": "example.org"}),
                        ("dmarc", "pass", {"header.from": "example.org"})])
    assert ours[0].strip().startswith(AUTHSERV_ID + ";"), ours
    # recorded in the history by the unprivileged daemon
    found = []

    def recorded():
        try:
            db = sqlite3.connect("file:%s?mode=ro" % m.history, uri=True)
            try:
                found[:] = db.execute(
                    "SELECT header_from, dmarc_result FROM am_message"
                    ).fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            return False
        return bool(found)
    wait_for(recorded, 8)
    assert found == [("example.org", "pass")], (found, m.log()[-2000:])
    assert not re.search(r"err: history", m.log()), m.log()[-2000:]
