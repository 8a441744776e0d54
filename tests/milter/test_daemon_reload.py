"""SIGUSR1 reload: a new snapshot for new connections, the old one kept on
a broken file (every problem logged as file:line), lists and files read
again, warnings for keys that need a restart; under load no transaction
fails."""

import os
import re
import signal
import threading
import time

from conftest import (BAD_IP, GOOD_IP, accepted_ar, make_msg, rejected,
                      wait_for)


def write_conf(m, changes, drop=()):
    """rewrite the daemon's config: keys in changes replaced or added"""
    with open(m.conf) as f:
        lines = [ln for ln in f.read().splitlines()
                 if ln and not ln.startswith("#")]
    keys = {k.lower() for k, _ in changes} | {k.lower() for k in drop}
    out = [ln for ln in lines if ln.split()[0].lower() not in keys]
    out += ["%s %s" % kv for kv in changes]
    tmp = m.conf + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.rename(tmp, m.conf)


def reload(m, marker, before):
    """send SIGUSR1 and wait until the log has one more marker line"""
    m.proc.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: m.log().count(marker) > before, 10), \
        "no %r after SIGUSR1:\n%s" % (marker, m.log()[-2000:])


def send_reject(m, qid=None):
    kw = {"queue_id": qid} if qid else {}
    return m.send(make_msg(from_="user@example.org"),
                  mailfrom="<user@example.org>", client_addr=BAD_IP, **kw)


OK = "reload: configuration"
KEPT = "keeping the running configuration"


def test_reload_under_load(milters):
    m = milters.new("reload", [("RejectString", "old for %{domain}")]).start()
    stop = threading.Event()
    failures = []
    counts = []

    def client(n):
        done = 0
        while not stop.is_set():
            try:
                if done % 2:
                    res = m.send(make_msg(from_="user@example.org"),
                                 mailfrom="<user@example.org>",
                                 client_addr=GOOD_IP, timeout=20)
                    accepted_ar(res)
                else:
                    text = rejected(send_reject(m))
                    assert text in ("old for example.org",
                                    "new for example.org",
                                    "newer for example.org"), text
                done += 1
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append("client %d: %r" % (n, e))
                return
        counts.append(done)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        write_conf(m, [("RejectString", "new for %{domain}")])
        reload(m, OK, 0)
        time.sleep(0.3)
        # broken: two problems, both reported with file:line; old config kept
        write_conf(m, [("RejectString", "broken %{domain}"),
                       ("DNSTimeout", "never"), ("NoSuchKey", "1")])
        reload(m, KEPT, 0)
        time.sleep(0.3)
        write_conf(m, [("RejectString", "newer for %{domain}"),
                       ("DNSTimeout", "3")], drop=("NoSuchKey",))
        reload(m, OK, 1)
        time.sleep(0.3)
        m.proc.send_signal(signal.SIGUSR1)      # same file again
        assert wait_for(lambda: m.log().count(OK) >= 3, 10)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not failures, failures
    assert len(counts) == 4 and sum(counts) >= 20, counts
    log = m.log()
    base = os.path.basename(m.conf)
    errs = re.findall(r"reload: (\S*%s):(\d+): (\w+):" % re.escape(base), log)
    assert sorted(e[2] for e in errs) == ["DNSTimeout", "NoSuchKey"], errs
    assert re.search(r"warning: .*reload: changes to DNSTimeout take effect "
                     r"only after a restart", log), log[-3000:]
    # the broken file changed nothing; the last good one is in force
    assert rejected(send_reject(m)) == "newer for example.org"
    assert m.proc.poll() is None


def test_reload_ignorehosts_file(milters, tmp_path):
    """IgnoreHosts from a file: the file is read again at reload"""
    hosts = tmp_path / "ignore.txt"
    hosts.write_text("127.0.0.1\n")
    m = milters.new("reload-ignore", [("IgnoreHosts", str(hosts))]).start()
    rejected(send_reject(m))
    hosts.write_text("127.0.0.1\n%s/32   # the test client\n" % BAD_IP)
    reload(m, OK, 0)
    value = accepted_ar(send_reject(m))
    assert "none" in value and "exempt" in value, value
    # and back, with an inline list this time
    write_conf(m, [("IgnoreHosts", "127.0.0.1, ::1")])
    reload(m, OK, 1)
    rejected(send_reject(m))


def test_reload_connection_keeps_snapshot(milters):
    """a connection open across a reload finishes with its own snapshot;
    the next connection gets the new one"""
    from milterclient import MilterClient, transaction
    m = milters.new("reload-snap", [("RejectString", "first %{domain}")])
    m.start()
    with MilterClient(m.spec, timeout=20) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 40000, BAD_IP)
        c.helo("mail.example.org")
        write_conf(m, [("RejectString", "second %{domain}")])
        reload(m, OK, 0)
        res = transaction(c, make_msg(from_="user@example.org"),
                          queue_id="SNAP1")
        assert res.reply_shown.endswith("first example.org"), res
    assert rejected(send_reject(m)) == "second example.org"


def test_reload_ignorehosts_fifo(milters, tmp_path):
    """IgnoreHosts naming a FIFO: the reload fails at once with file:line
    (the open must not wait for a writer), the running configuration is
    kept, a later SIGUSR1 still reloads, and SIGTERM still exits"""
    fifo = tmp_path / "hosts.fifo"
    os.mkfifo(str(fifo))
    m = milters.new("reload-fifo", [("RejectString", "old %{domain}")])
    m.start()
    try:
        write_conf(m, [("IgnoreHosts", str(fifo)),
                       ("RejectString", "new %{domain}")])
        with open(m.conf) as f:
            line = f.read().splitlines().index("IgnoreHosts %s" % fifo) + 1
        reload(m, KEPT, 0)
        want = "%s:%d: IgnoreHosts: %s: is a FIFO, not a regular file" % (
            m.conf, line, fifo)
        assert want in m.log(), m.log()[-2000:]
        assert rejected(send_reject(m)) == "old example.org"
        # the reload thread is not stuck: the next SIGUSR1 is served
        write_conf(m, [("RejectString", "later %{domain}")],
                   drop=("IgnoreHosts",))
        reload(m, OK, 0)
        assert rejected(send_reject(m)) == "later example.org"
        m.proc.send_signal(signal.SIGTERM)
        rc = m.wait(10)
        assert rc == 0, "exit status %s after SIGTERM:\n%s" % (rc, m.log())
    finally:
        m.kill()
