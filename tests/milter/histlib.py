"""Helpers of the history tests (test_history*.py): read the rows a daemon
wrote to its SQLite file, wait for them, read its history metrics."""

import sqlite3
import time
import urllib.request

from conftest import wait_for

COLUMNS = ("t reporter source_ip env_from env_to header_from policy_domain "
           "org_domain discovery p sp np adkim aspf testing psd fo rua ruf "
           "pct policy_tag dmarc_result dkim_aligned spf_aligned disposition "
           "override override_comment spf_domain spf_scope spf_result "
           "dkim").split()


def rows(path, where="1=1", args=()):
    """am_message rows as dicts (read-only, beside the daemon's writer)"""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        cur = db.execute("SELECT %s FROM am_message WHERE %s ORDER BY id"
                         % (", ".join(COLUMNS), where), args)
        return [dict(zip(COLUMNS, r)) for r in cur.fetchall()]
    finally:
        db.close()


def wait_rows(path, where, args=(), n=1, timeout=8.0):
    """wait until at least n rows match; returns them"""
    got = []

    def look():
        try:
            got[:] = rows(path, where, args)
        except sqlite3.Error:
            return False
        return len(got) >= n
    wait_for(look, timeout, 0.05)
    assert len(got) >= n, "%d of %d rows with %s %r in %s" % (
        len(got), n, where, args, path)
    return got


def history_metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("authmilter_history"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def metric(m, result):
    return m.get('authmilter_history_records_total{result="%s"}' % result, 0)


def timed_send(milter, msg, **kw):
    """send one message; returns (result, seconds the whole transaction
    took: connect to end-of-message reply)"""
    t0 = time.monotonic()
    res = milter.send(msg, **kw)
    return res, time.monotonic() - t0
