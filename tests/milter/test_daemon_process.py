"""The daemon as a system service: UserID/UMask/PidFile, background mode,
privilege drop checked from /proc, and the stale-socket start."""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from conftest import (GOOD_IP, Authmilter, accepted_ar, free_port,
                      make_msg, wait_for)


def proc_ids(pid):
    """(uids, gids, groups) of a process from /proc/PID/status"""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                ids[k] = [int(x) for x in v.split()]
    return ids["Uid"], ids["Gid"], ids["Groups"]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture
def rundir():
    """a directory the dropped user can reach and write (socket, PidFile):
    pytest's own tmp directories are 0700 root"""
    d = tempfile.mkdtemp(prefix="authmilter-run-", dir="/tmp")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


_started = []                   # configs of background daemons started here


@pytest.fixture(autouse=True)
def _reap_background():
    """a test that fails half-way must not leave its daemon running"""
    yield
    while _started:
        subprocess.run(["pkill", "-KILL", "-f", _started.pop()], check=False)


def start_background(authmilter_bin, workdir, name, nameservers, overrides):
    """write the config like the pool does, start without -f; the parent
    must exit 0 once the daemon is listening"""
    m = Authmilter(authmilter_bin, workdir, name, nameservers, overrides)
    _started.append(m.conf)
    p = subprocess.run([authmilter_bin, "-c", m.conf], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p
    return m


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_userid_umask_pidfile(authmilter_bin, nsd, workdir, rundir):
    nobody = pwd.getpwnam("nobody")
    sock = os.path.join(rundir, "am.sock")
    pidfile = os.path.join(rundir, "am.pid")
    m = start_background(authmilter_bin, workdir, "privs",
                         "127.0.0.1@%d" % nsd.port,
                         [("Socket", "unix:" + sock), ("UserID", "nobody"),
                          ("UMask", "007"), ("PidFile", pidfile)])
    assert wait_for(lambda: os.path.exists(pidfile) and
                    os.path.getsize(pidfile) > 0, 10)
    with open(pidfile) as f:
        text = f.read()
    assert text.endswith("\n") and text.strip().isdigit(), repr(text)
    pid = int(text)
    try:
        assert alive(pid)
        # the PidFile is written just before the drop: give it a moment
        wait_for(lambda: proc_ids(pid)[0] == [nobody.pw_uid] * 4, 10)
        uids, gids, groups = proc_ids(pid)
        assert uids == [nobody.pw_uid] * 4, uids
        assert gids == [nobody.pw_gid] * 4, gids
        assert 0 not in groups, groups
        # the socket: mode from UMask 007, owned by the user
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o770, oct(st.st_mode)
        assert st.st_uid == nobody.pw_uid
        # and it works as nobody
        m.spec = "unix:" + sock
        m.proc = None
        from milterclient import run_transaction
        res = run_transaction(m.spec, make_msg(from_="user@example.org"),
                              mailfrom="<user@example.org>",
                              client_addr=GOOD_IP, queue_id="PRIVS1")
        accepted_ar(res)
    finally:
        os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not alive(pid), 20), "still running after SIGTERM"
    assert not os.path.exists(pidfile), "PidFile left behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_pidfile_without_userid(authmilter_bin, nsd, workdir, rundir):
    """background, PidFile holds the daemon's (not the parent's) pid"""
    pidfile = os.path.join(rundir, "am2.pid")
    start_background(authmilter_bin, workdir, "pidonly",
                     "127.0.0.1@%d" % nsd.port, [("PidFile", pidfile)])
    assert wait_for(lambda: os.path.exists(pidfile), 10)
    pid = int(open(pidfile).read())
    try:
        assert alive(pid)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            assert b"authmilter" in f.read()
        assert os.getppid() != pid
    finally:
        os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not alive(pid), 20)
    assert not os.path.exists(pidfile)


def test_userid_unknown_user_is_config_error(authmilter_bin, tmp_path):
    conf = tmp_path / "u.conf"
    conf.write_text("UserID no-such-user-here\nUMask 0999\n"
                    "PidFile relative.pid\nMetricsSocket unix:/x\n")
    p = subprocess.run([authmilter_bin, "-n", "-c", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 78, p
    for line in (1, 2, 3, 4):
        assert "u.conf:%d:" % line in p.stderr, p.stderr


def test_userid_when_not_root_refuses(authmilter_bin, nsd, workdir):
    """UserID can only be switched to from root: started as another user,
    the daemon says so and exits.  As root (CI) the test starts it as
    nobody itself (setpriv, util-linux), with a config nobody can read."""
    m = Authmilter(authmilter_bin, workdir, "notroot",
                   "127.0.0.1@%d" % nsd.port, [("UserID", "root")])
    cmd = [authmilter_bin, "-f", "-c", m.conf]
    if os.geteuid() == 0:
        pub = tempfile.mkdtemp(prefix="am-notroot-")  # 0700: make it readable
        os.chmod(pub, 0o755)
        conf = os.path.join(pub, "notroot.conf")
        shutil.copy(m.conf, conf)
        os.chmod(conf, 0o644)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534",
               "--clear-groups", authmilter_bin, "-f", "-c", conf]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    finally:
        if os.geteuid() == 0:
            shutil.rmtree(pub)
    assert p.returncode != 0, p
    assert "must be started as root" in p.stderr, p.stderr


def test_stale_unix_socket_removed_in_background(authmilter_bin, nsd,
                                                 workdir, rundir):
    """a stale socket file does not stop a background start"""
    import socket
    sock = os.path.join(rundir, "stale.sock")
    pidfile = os.path.join(rundir, "stale.pid")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()
    start_background(authmilter_bin, workdir, "stale",
                     "127.0.0.1@%d" % nsd.port,
                     [("Socket", "unix:" + sock), ("PidFile", pidfile)])
    assert wait_for(lambda: os.path.exists(pidfile), 10)
    pid = int(open(pidfile).read())
    try:
        from milterclient import run_transaction
        res = run_transaction("unix:" + sock, make_msg(),
                              client_addr=GOOD_IP, queue_id="STALE1")
        accepted_ar(res)
    finally:
        os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not alive(pid), 20)


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="needs root to start as another user")
def test_userid_refused_when_not_root(authmilter_bin, nsd, rundir):
    """started as nobody with UserID root: no drop possible, exit 71"""
    conf = os.path.join(rundir, "notroot.conf")
    with open(conf, "w") as f:
        f.write("Socket inet:%d@127.0.0.1\nNameservers 127.0.0.1@%d\n"
                "Syslog no\nUserID root\n" % (free_port(), nsd.port))
    os.chmod(conf, 0o644)
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", authmilter_bin, "-f", "-c", conf],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 71, p
    assert "must be started as root" in p.stderr, p.stderr


@pytest.fixture
def rootdir():
    """a directory as /run is: root's, 0755 (nobody may not write it)"""
    d = tempfile.mkdtemp(prefix="authmilter-root-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_userid_files_removed_from_created_dir(authmilter_bin, nsd, workdir,
                                               rootdir):
    """UserID nobody, socket and PidFile in ROOTDIR/run, which does not
    exist: authmilter creates it for nobody (as RuntimeDirectory= or
    tmpfiles.d would), so after SIGTERM both files are gone"""
    nobody = pwd.getpwnam("nobody")
    run = os.path.join(rootdir, "run")
    sock = os.path.join(run, "am.sock")
    pidfile = os.path.join(run, "am.pid")
    m = Authmilter(authmilter_bin, workdir, "rundir",
                   "127.0.0.1@%d" % nsd.port,
                   [("Socket", "unix:" + sock), ("UserID", "nobody"),
                    ("UMask", "007"), ("PidFile", pidfile)])
    m.start()
    try:
        st = os.stat(run)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == \
            (nobody.pw_uid, 0o750), (st.st_uid, oct(st.st_mode))
        assert wait_for(lambda: os.path.exists(pidfile) and
                        os.path.getsize(pidfile) > 0, 10)
        assert int(open(pidfile).read()) == m.proc.pid
        wait_for(lambda: proc_ids(m.proc.pid)[0][1] == nobody.pw_uid, 10)
        assert proc_ids(m.proc.pid)[0] == [nobody.pw_uid] * 4
        assert stat.S_ISSOCK(os.stat(sock).st_mode)
    finally:
        m.terminate()
    assert m.wait(20) == 0, m.log()
    assert not os.path.exists(pidfile), "PidFile left behind:\n" + m.log()
    assert not os.path.exists(sock), "socket left behind:\n" + m.log()
    assert "unlink" not in m.log(), m.log()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_userid_unwritable_dir_warns(authmilter_bin, nsd, workdir, rootdir):
    """UserID nobody, PidFile in an existing directory of root's: the
    start says the file will be left behind and what to do; at exit the
    PidFile is emptied (no stale pid for a reload script to signal)"""
    pidfile = os.path.join(rootdir, "am.pid")
    m = Authmilter(authmilter_bin, workdir, "rootdir",
                   "127.0.0.1@%d" % nsd.port,
                   [("UserID", "nobody"), ("PidFile", pidfile)])
    m.start()
    try:
        assert wait_for(lambda: os.path.exists(pidfile) and
                        os.path.getsize(pidfile) > 0, 10)
        assert ("%s: directory %s is not writable by nobody" %
                (pidfile, rootdir)) in m.log(), m.log()
        assert "/run/authmilter" in m.log(), m.log()
    finally:
        m.terminate()
    assert m.wait(20) == 0, m.log()
    assert os.path.getsize(pidfile) == 0
