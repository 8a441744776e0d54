"""authmilter-report against one real PostgreSQL server (issue 13): runs
started at the same moment on one store send exactly one report per
policy domain, and a later run sends nothing new.

The server is a throw-away cluster (tests/lib/pg-start); the history rows
are written with psql (what the daemon writes is the history tests'
subject; here the claim protocol is).  The reports go to a ReportSendmail
that keeps every submission it gets and takes its time (so that the runs
overlap), and resolve their destinations through the session's nsd.
"""

import email
import email.policy
import gzip
import os
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_START = os.path.join(ROOT, "tests", "lib", "pg-start")
PG_STOP = os.path.join(ROOT, "tests", "lib", "pg-stop")
DOMAINS = ("example.org", "example.com", "example.net", "example.biz")
RUNS = 3

COLS = ("t, reporter, source_ip, env_from, env_to, header_from, "
        "policy_domain, org_domain, discovery, p, sp, np, adkim, aspf, "
        "testing, psd, fo, rua, ruf, pct, policy_tag, dmarc_result, "
        "dkim_aligned, spf_aligned, disposition, override, override_comment, "
        "spf_domain, spf_scope, spf_result, dkim")


def psql_bin():
    bins = sorted(d for d in os.listdir("/usr/lib/postgresql")) \
        if os.path.isdir("/usr/lib/postgresql") else []
    assert bins, "PostgreSQL is not installed (postgresql: scripts/deps)"
    return os.path.join("/usr/lib/postgresql", bins[-1], "bin", "psql")


@pytest.fixture(scope="module")
def pg():
    # not under pytest's base folder (0700): the server runs as nobody
    d = tempfile.mkdtemp(prefix="authmilter-pg-report-")
    os.chmod(d, 0o755)
    p = subprocess.run([PG_START, d], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    yield p.stdout.strip()
    subprocess.run([PG_STOP, d], capture_output=True, timeout=60)
    shutil.rmtree(d, ignore_errors=True)


def psql(uri, sql):
    p = subprocess.run([psql_bin(), uri, "-XAtq", "-v", "ON_ERROR_STOP=1",
                        "-c", sql], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def report_bin(authmilter_bin):
    path = os.path.join(os.path.dirname(authmilter_bin), "authmilter-report")
    assert os.access(path, os.X_OK), "%s not built" % path
    return path


def row(t, domain, ip, result):
    ok = result == "pass"
    vals = (t, "mx", ip, domain, "example.net", domain, domain, domain,
            "treewalk", "reject", "", "", "r", "r", "n", "u", "",
            "mailto:dmarc@" + domain, "", 100, "p", result, int(ok),
            int(ok), "none" if ok else "reject", "", "", domain, "mfrom",
            "pass" if ok else "fail",
            "%s rsa %s\n" % (domain, "pass" if ok else "fail"))
    return "(" + ", ".join(str(v) if isinstance(v, int) else
                           "'%s'" % v.replace("'", "''") for v in vals) + ")"


def test_concurrent_runs_send_one_report_per_domain(pg, authmilter_bin, nsd,
                                                     tmp_path):
    out = tmp_path / "submissions"
    out.mkdir()
    sendmail = tmp_path / "sendmail"
    # keeps each submission (its arguments on the first line), slowly
    sendmail.write_text("#!/bin/sh\nf=%s/$$.$(date +%%s%%N)\n"
                        "echo \"$*\" > \"$f.tmp\"\ncat >> \"$f.tmp\"\n"
                        "sleep 0.3\nmv \"$f.tmp\" \"$f\"\n" % out)
    sendmail.chmod(0o755)
    conf = tmp_path / "report.conf"
    conf.write_text("AuthservID mx.example.net\nHistoryDB %s\n"
                    "Nameservers 127.0.0.1@%d\nDNSTimeout 2\n"
                    "ReportEmail dmarc-reports@mx.example.net\n"
                    "ReportSendmail %s\n" % (pg, nsd.port, sendmail))
    prog = report_bin(authmilter_bin)
    # the first run on an empty database creates the schema
    p = subprocess.run([prog, "-c", str(conf), "--summary"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    now = int(time.time())
    begin, end = now - 3600, now + 3600
    rows = []
    for i, d in enumerate(DOMAINS):
        for k in range(i + 1):
            rows.append(row(now - 10 - k, d, "192.0.2.%d" % (k + 1), "pass"))
        rows.append(row(now - 5, d, "198.51.100.9", "fail"))
    psql(pg, "INSERT INTO am_message (%s) VALUES %s" % (COLS, ",".join(rows)))

    cmd = [prog, "-c", str(conf), "--begin", str(begin), "--end", str(end),
           "--now", str(now)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(RUNS)]
    results = [(pr.wait(timeout=60), pr.stderr.read()) for pr in procs]
    for pr in procs:
        pr.stdout.close()
        pr.stderr.close()
    for rc, err in results:
        assert rc == 0, err
    logs = "\n".join(err for _, err in results)

    subs = sorted(os.listdir(out))
    per_domain = {}
    for name in subs:
        with open(os.path.join(out, name), "rb") as f:
            args, _, raw = f.read().partition(b"\n")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        subject = " ".join(str(msg["Subject"]).split())
        domain = subject.split()[2]
        per_domain.setdefault(domain, []).append(name)
        assert args.decode().split() == [
            "-oi", "-f", "dmarc-reports@mx.example.net", "--",
            "dmarc@" + domain]
        part = [x for x in msg.walk()
                if x.get_content_type() == "application/gzip"][0]
        xml = gzip.decompress(part.get_payload(decode=True)).decode()
        # the counts of the domain: i + 1 passing, one failing
        i = DOMAINS.index(domain)
        assert xml.count("<record>") == i + 2, xml
        assert "<count>1</count>" in xml
    assert sorted(per_domain) == sorted(DOMAINS), (per_domain, logs)
    assert all(len(v) == 1 for v in per_domain.values()), (per_domain, logs)
    # the runs that lost a claim said so
    assert logs.count("sent already or claimed by another run") == \
        (RUNS - 1) * len(DOMAINS), logs
    states = psql(pg, "SELECT policy_domain, state, attempts FROM am_report "
                  "ORDER BY policy_domain").split()
    assert states == sorted("%s|sent|1" % d for d in DOMAINS), states

    # once more, later: everything is sent already
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == subs
    assert "sent=0" in p.stderr, p.stderr
    shutil.rmtree(out)
