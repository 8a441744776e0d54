"""authmilter-report on a SQLite history (issue 13): --dry-run, the default
period (yesterday, UTC), ReportSuppress, the back-off and automatic
suppression of a failing destination, retention (HistoryDays).

The rows are written with Python's sqlite3 after the program created the
schema; the destinations resolve through the session's nsd (example.org,
example.com, example.biz have addresses; nothing exists under
gone.example.net).  Reports go to a ReportSendmail that keeps them.
"""

import email
import email.policy
import gzip
import os
import sqlite3
import subprocess

import pytest

from test_report_pg import COLS, report_bin, row

DAY = 86400
NOW = 1796600000                # 2026-12-06 23:33:20 UTC
YESTERDAY = 1796428800          # 2026-12-05 00:00:00 UTC


@pytest.fixture
def setup(authmilter_bin, nsd, tmp_path):
    class S:
        pass
    s = S()
    s.dir = tmp_path
    s.db = str(tmp_path / "history.db")
    s.out = tmp_path / "sent"
    s.out.mkdir()
    s.sendmail = tmp_path / "sendmail"
    s.sendmail.write_text("#!/bin/sh\nf=%s/$$\necho \"$*\" > $f\n"
                          "cat >> $f\n" % s.out)
    s.sendmail.chmod(0o755)
    s.prog = report_bin(authmilter_bin)
    s.ns = nsd.port

    def conf(extra=""):
        path = tmp_path / "report.conf"
        path.write_text("AuthservID mx.example.net\nHistoryDB %s\n"
                        "Nameservers 127.0.0.1@%d\nDNSTimeout 2\n"
                        "ReportEmail dmarc-reports@mx.example.net\n"
                        "ReportSendmail %s\n%s" % (s.db, s.ns, s.sendmail,
                                                   extra))
        return str(path)
    s.conf = conf

    def run(*args, extra=""):
        p = subprocess.run([s.prog, "-c", conf(extra)] + list(args),
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stderr + p.stdout
    s.run = run
    rc, out = run("--summary")          # creates the schema
    assert rc == 0, out

    def insert(rows):
        con = sqlite3.connect(s.db)
        con.execute("INSERT INTO am_message (%s) VALUES %s"
                    % (COLS, ",".join(rows)))
        con.commit()
        con.close()
    s.insert = insert

    def query(sql):
        con = sqlite3.connect(s.db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    s.query = query
    return s


def dead_row(t):
    """example.net's mail, rua in a name that does not exist"""
    return row(t, "example.net", "192.0.2.1", "pass").replace(
        "mailto:dmarc@example.net", "mailto:dmarc@gone.example.net")


def test_dry_run_default_period_and_suppress(setup):
    s = setup
    s.insert([row(YESTERDAY + 100, d, "192.0.2.1", "pass")
              for d in ("example.org", "example.com", "example.biz")] +
             [row(NOW - 10, "example.org", "192.0.2.2", "pass")])  # today
    dry = s.dir / "dry"
    dry.mkdir()
    (s.dir / "suppress").write_text("# never\nexample.biz\n")
    rc, log = s.run("--dry-run", str(dry), "--now", str(NOW),
                    extra="ReportSuppress %s\n" % (s.dir / "suppress"))
    assert rc == 0, log
    names = sorted(os.listdir(dry))
    # yesterday only; example.biz's destination suppressed
    want = []
    for d in ("example.com", "example.org"):
        stem = "mx.example.net!%s!%d!%d!" % (d, YESTERDAY, YESTERDAY + DAY - 1)
        got = [n for n in names if n.startswith(stem)]
        assert len(got) == 2, (names, log)
        want += got
    assert names == sorted(want), names
    assert "dest=dmarc@example.biz skipped: ReportSuppress" in log, log
    for n in names:
        if n.endswith(".eml"):
            with open(dry / n, "rb") as f:
                msg = email.message_from_bytes(f.read(),
                                               policy=email.policy.default)
            part = [p for p in msg.walk()
                    if p.get_content_type() == "application/gzip"][0]
            with open(dry / part.get_filename(), "rb") as f:
                assert part.get_payload(decode=True) == f.read()
            xml = gzip.decompress(part.get_payload(decode=True)).decode()
            assert "<count>1</count>" in xml and xml.count("<record>") == 1
    # a dry run sends nothing and writes nothing to the store
    assert os.listdir(s.out) == []
    assert s.query("SELECT COUNT(*) FROM am_report") == [(0,)]
    assert s.query("SELECT COUNT(*) FROM am_dest") == [(0,)]


def test_dead_destination_backs_off_then_is_suppressed(setup):
    s = setup
    extra = "ReportMaxFailures 2\n"
    s.insert([dead_row(YESTERDAY + 100), dead_row(YESTERDAY + 100 + DAY)])
    rc, log = s.run("--now", str(NOW), extra=extra)
    assert rc == 0, log
    assert s.query("SELECT address, failures, suppressed FROM am_dest") == \
        [("dmarc@gone.example.net", 1, 0)], log
    next_try = s.query("SELECT next_try FROM am_dest")[0][0]
    assert next_try == NOW + DAY - 3600
    # an hour later: backing off, not asked again
    rc, log = s.run("--day", "2026-12-05", "--now", str(NOW + 3600),
                    extra=extra)
    assert "skipped: back-off until %d" % next_try in log, log
    assert s.query("SELECT failures FROM am_dest") == [(1,)]
    # the next day: fails again, the second failed run: suppressed
    rc, log = s.run("--now", str(NOW + DAY), extra=extra)
    assert s.query("SELECT failures, suppressed FROM am_dest") == [(2, 1)], log
    rc, log = s.run("--now", str(NOW + 5 * DAY), "--day", "2026-12-06",
                    extra=extra)
    assert "dest=dmarc@gone.example.net skipped: suppressed after 2 " \
        "failed runs" in log, log
    assert os.listdir(s.out) == []


def test_retention_deletes_old_history(setup):
    s = setup
    s.insert([row(NOW - 20 * DAY, "example.org", "192.0.2.1", "pass"),
              row(NOW - 3 * DAY, "example.org", "192.0.2.1", "pass"),
              row(NOW - 100, "example.org", "192.0.2.1", "pass")])
    rc, log = s.run("--now", str(NOW), extra="HistoryDays 2\n")
    assert rc == 0, log
    assert "expired=2" in log, log
    assert s.query("SELECT t FROM am_message") == [(NOW - 100,)]
