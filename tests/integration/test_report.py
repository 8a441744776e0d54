"""DMARC aggregate reports end to end (issue 13): mail through the real
Postfix to an authmilter that records its history in a SQLite file, then
authmilter-report for that period; its reports go through the same
Postfix (sendmail -C) into the local Maildir.

An nsd of its own serves the session's zone plus the report domains:
  rep-same.example    p=none, rua in its own domain; sub.rep-same.example
                      has no record (its mail is in the parent's report)
  rep-ext.example     p=quarantine, rua=agg@reports.example, authorized by
                      rep-ext.example._report._dmarc.reports.example
  rep-noauth.example  p=reject, rua=agg@reports.example, not authorized
  rep-dead.example    p=none, rua=dmarc@gone.rep-dead.example (no such name)
  rep-test.example    p=reject; t=y
The test unpacks each report mail (Python's email and gzip), validates
the XML with xmllint --schema (RFC 9990's XSD) and compares every record
with the history rows and every count with the messages sent.  Then: a
second run sends nothing; a run whose sendmail fails is retried by the
next with the same Report-ID and file name.
"""

import collections
import email
import email.policy
import gzip
import os
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from milter_harness import (Authmilter, NsdServer, free_port, make_msg, sign,
                            txt_rdata, wait_for, zone_records)
from postfix import DOMAIN, Postfix

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
XSD = os.path.join(ROOT, "tests", "unit", "data", "report",
                   "dmarc-xml-0.2.xsd")
NS = "{urn:ietf:params:xml:ns:dmarc-2.0}"
SENDMAIL = "/usr/sbin/sendmail"
REPORT_EMAIL = "dmarc-reports@mx.example.net"
MAILBOX_DOMAINS = "%s, rep-same.example, reports.example, rep-test.example" \
    % DOMAIN
GOOD = "192.0.2.10"          # in every rep-* SPF record
BAD = "198.51.100.7"
FWD = "203.0.113.5"          # a forwarder


def report_records(keys):
    r = []

    def txt(owner, text):
        r.append((owner, "TXT", txt_rdata(text)))

    def a(owner):
        r.append((owner, "A", "192.0.2.1"))

    spf = "v=spf1 ip4:%s -all" % GOOD
    for d, rec in (
            ("rep-same.example", "v=DMARC1; p=none; "
             "rua=mailto:dmarc@rep-same.example"),
            ("rep-ext.example", "v=DMARC1; p=quarantine; "
             "rua=mailto:agg@reports.example"),
            ("rep-noauth.example", "v=DMARC1; p=reject; "
             "rua=mailto:agg@reports.example"),
            ("rep-dead.example", "v=DMARC1; p=none; "
             "rua=mailto:dmarc@gone.rep-dead.example"),
            ("rep-test.example", "v=DMARC1; p=reject; t=y; "
             "rua=mailto:dmarc@rep-test.example")):
        a(d)
        txt(d, spf)
        txt("_dmarc." + d, rec)
        txt("rsa._domainkey." + d, keys.rsa_txt)
    a("sub.rep-same.example")
    txt("sub.rep-same.example", spf)
    a("reports.example")
    txt("rep-ext.example._report._dmarc.reports.example", "v=DMARC1")
    a("forwarder.example")
    txt("forwarder.example", "v=spf1 ip4:192.0.2.200 -all")
    a("mx.example.net")
    return r


class ReportPostfix(Postfix):
    """Postfix that also takes the report destinations' domains"""

    def _write_config(self):
        super()._write_config()
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            f.write("virtual_mailbox_domains = %s\n" % MAILBOX_DOMAINS)


class Stack:
    pass


@pytest.fixture(scope="module")
def rs(authmilter_bin, keys, workdir, tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    os.chmod(d, 0o755)
    st = Stack()
    st.dir = str(d)
    st.db = os.path.join(st.dir, "history.db")
    os.makedirs(str(d / "nsd"), exist_ok=True)
    st.nsd = NsdServer(str(d / "nsd"), zone_records(keys) +
                       report_records(keys))
    st.nsd.start()
    ns = "127.0.0.1@%d" % st.nsd.port
    st.milter = Authmilter(authmilter_bin, workdir, "pf-report", ns,
                           [("HistoryDB", st.db)]).start()
    st.pf = None
    try:
        st.pf = ReportPostfix({"report": (free_port(), {
            "smtpd_milters": "inet:127.0.0.1:%d" % st.milter.port})}).start()
        st.sendmail = os.path.join(st.dir, "sendmail")
        with open(st.sendmail, "w") as f:
            f.write("#!/bin/sh\necho \"$*\" >> %(d)s/calls\n"
                    "if [ -e %(d)s/fail ]; then\n"
                    "  cat > %(d)s/failed.$$; exit 75\nfi\n"
                    "exec %(sm)s -C %(etc)s \"$@\"\n"
                    % {"d": st.dir, "sm": SENDMAIL, "etc": st.pf.etc})
        os.chmod(st.sendmail, 0o755)
        st.conf = os.path.join(st.dir, "report.conf")
        with open(st.conf, "w") as f:
            f.write("AuthservID mx.example.net\nHistoryDB %s\n"
                    "Nameservers %s\nDNSTimeout 2\nReportEmail %s\n"
                    "ReportOrgName Example <Receiver> & Co\n"
                    "ReportSendmail %s\n"
                    % (st.db, ns, REPORT_EMAIL, st.sendmail))
        st.prog = os.path.join(os.path.dirname(authmilter_bin),
                               "authmilter-report")
        yield st
    finally:
        if st.pf is not None:
            st.pf.stop()
        st.milter.terminate()
        st.milter.wait(10)
        st.nsd.stop()
        if st.pf is not None:
            st.pf.cleanup()


def send(st, keys, frm, mailfrom, addr, signed=True, broken=False, n=1,
         rcpt="rcpt@" + DOMAIN):
    codes = []
    for _ in range(n):
        msg = make_msg(from_=frm, to=rcpt)
        if signed:
            msg = sign(msg, "rsa", signed if isinstance(signed, str) else
                       frm.split("@")[1], keys.rsa_key)
        if broken:      # a forwarder's footer breaks the body hash
            msg += b"-- \r\nforwarded by a list\r\n"
        code, text = st.pf.send("report", msg, mailfrom, rcpts=(rcpt,),
                                addr=addr)
        codes.append(code)
    return codes


# what is sent: (From, MAIL FROM, client, signed, broken, count)
TRAFFIC = [
    ("u@rep-same.example", "u@rep-same.example", GOOD, True, False, 3),
    ("u@rep-same.example", "u@rep-same.example", BAD, False, False, 1),
    ("u@sub.rep-same.example", "u@sub.rep-same.example", GOOD,
     "rep-same.example", False, 2),
    ("u@rep-same.example", "list@forwarder.example", FWD, True, True, 1),
    ("u@rep-ext.example", "u@rep-ext.example", GOOD, True, False, 2),
    ("u@rep-noauth.example", "u@rep-noauth.example", GOOD, True, False, 1),
    ("u@rep-dead.example", "u@rep-dead.example", GOOD, True, False, 1),
    ("u@rep-test.example", "u@rep-test.example", BAD, False, False, 2),
    # report mail of ours (envelope sender ReportEmail's domain): counted
    # by nobody
    ("u@rep-same.example", REPORT_EMAIL, GOOD, True, False, 1),
]


def rows(st, sql="SELECT * FROM am_message"):
    con = sqlite3.connect(st.db, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


def run(st, *args):
    p = subprocess.run([st.prog, "-c", st.conf] + list(args),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr + p.stdout


def maildir(st):
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(st.pf.maildir, sub)
        for n in os.listdir(d) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), "rb") as f:
                raw = f.read()
            if b"Report Domain:" in raw:
                out[n] = raw
    return out


def unpack(raw):
    """(message, file name, XML text) of a report mail"""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [p for p in msg.walk()
             if p.get_content_type() == "application/gzip"]
    assert len(parts) == 1, raw[:2000]
    xml = gzip.decompress(parts[0].get_payload(decode=True))
    return msg, parts[0].get_filename(), xml


def xsd_valid(st, xml, name):
    path = os.path.join(st.dir, name + ".xml")
    with open(path, "wb") as f:
        f.write(xml)
    p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def t(el, path):
    """the text at a path of plain element names, None if absent"""
    x = el.find("/".join(NS + s for s in path.split("/")))
    return None if x is None else (x.text or "")


def expected_records(msgs):
    """RFC 9990's records of history rows, computed here: the rows that
    agree on everything a record shows, with their count"""
    c = collections.Counter()
    for m in msgs:
        sigs = tuple(sorted(tuple(s.split()) for s in
                            m["dkim"].splitlines() if s.strip()))
        disp = m["disposition"]
        applied = {"p": m["p"], "sp": m["sp"] or m["p"],
                   "np": m["np"] or m["sp"] or m["p"]}[m["policy_tag"]]
        if disp == "none" and m["dmarc_result"] == "pass" and \
                applied in ("quarantine", "reject"):
            disp = "pass"       # the XSD's ActionDispositionType
        c[(m["source_ip"], m["header_from"], m["env_from"], m["env_to"],
           disp, "pass" if m["dkim_aligned"] else "fail",
           "pass" if m["spf_aligned"] else "fail",
           m["override"], m["spf_domain"], m["spf_result"], sigs)] += 1
    return c


def xml_records(root):
    c = collections.Counter()
    for rec in root.findall(NS + "record"):
        sigs = tuple(sorted((t(d, "domain"), t(d, "selector"),
                             t(d, "result"))
                            for d in rec.findall(NS + "auth_results/" + NS +
                                                 "dkim")))
        spf = rec.find(NS + "auth_results/" + NS + "spf")
        reason = rec.find(NS + "row/" + NS + "policy_evaluated/" + NS +
                          "reason")
        c[(t(rec, "row/source_ip"), t(rec, "identifiers/header_from"),
           t(rec, "identifiers/envelope_from"),
           t(rec, "identifiers/envelope_to") or "",
           t(rec, "row/policy_evaluated/disposition"),
           t(rec, "row/policy_evaluated/dkim"),
           t(rec, "row/policy_evaluated/spf"),
           "" if reason is None else t(reason, "type"),
           "" if spf is None else t(spf, "domain"),
           "" if spf is None else t(spf, "result"), sigs)] += \
            int(t(rec, "row/count"))
    return c


def test_reports_through_postfix(rs, keys):
    st = rs
    sent = collections.Counter()
    for frm, mf, addr, signed, broken, n in TRAFFIC:
        send(st, keys, frm, mf, addr, signed, broken, n)
        if mf != REPORT_EMAIL:
            sent[(frm.split("@")[1], addr)] += n
    total = sum(n for *_, n in TRAFFIC)
    # one more like the first three but to another domain: the envelope
    # recipient is an identifier (RFC 9990 2.1.1.11), so its own record
    send(st, keys, "u@rep-same.example", "u@rep-same.example", GOOD,
         rcpt="Someone@Rep-Test.Example")
    sent[("rep-same.example", GOOD)] += 1
    total += 1
    # the daemon's writer thread stores them (batched, off the mail path)
    assert wait_for(lambda: len(rows(st)) >= total, 15), \
        (len(rows(st)), total, st.milter.log()[-3000:])
    msgs = rows(st)
    assert len(msgs) == total
    # envelope_to: the domain of the RCPT TO Postfix handed the milter
    # (issue 13), lower-cased
    assert collections.Counter(m["env_to"] for m in msgs) == \
        {DOMAIN: total - 1, "rep-test.example": 1}, msgs
    now = int(time.time())
    begin, end = now - 3600, now + 3600

    rc, log = run(st, "--begin", str(begin), "--end", str(end))
    assert rc == 0, log
    assert wait_for(lambda: len(maildir(st)) == 3, 20), \
        (log, st.pf.log()[-3000:])
    reports = {}
    for name, raw in maildir(st).items():
        msg, fname, xml = unpack(raw)
        subject = " ".join(str(msg["Subject"]).split())
        domain = subject.split()[2]
        reports[domain] = (msg, fname, xml, subject)
    assert sorted(reports) == ["rep-ext.example", "rep-same.example",
                               "rep-test.example"], log
    # not authorized, dead destination: no report; the dead one counted
    assert "rep-noauth.example dest=agg@reports.example skipped: " \
        "external destination not authorized" in log, log
    dest = rows(st, "SELECT * FROM am_dest")
    assert [(d["address"], d["failures"], d["suppressed"]) for d in dest] == \
        [("dmarc@gone.rep-dead.example", 1, 0)], dest

    to = {"rep-same.example": "dmarc@rep-same.example",
          "rep-ext.example": "agg@reports.example",
          "rep-test.example": "dmarc@rep-test.example"}
    for domain, (msg, fname, xml, subject) in reports.items():
        xsd_valid(st, xml, domain)
        root = ET.fromstring(xml)
        assert root.tag == NS + "feedback"
        meta = root.find(NS + "report_metadata")
        rid = t(meta, "report_id")
        assert subject == "Report Domain: %s Submitter: mx.example.net " \
            "Report-ID: <%s>" % (domain, rid)
        assert [a.addr_spec for a in msg["To"].addresses] == [to[domain]]
        assert [a.addr_spec for a in msg["From"].addresses] == [REPORT_EMAIL]
        assert fname == "mx.example.net!%s!%d!%d!%s.xml.gz" % (
            domain, begin, end, rid.split("@")[0])
        assert t(meta, "org_name") == "Example <Receiver> & Co"
        assert t(meta, "email") == REPORT_EMAIL
        assert (t(meta, "date_range/begin"), t(meta, "date_range/end")) == \
            (str(begin), str(end))
        assert t(meta, "generator").startswith("authmilter-report ")
        pol = root.find(NS + "policy_published")
        assert t(pol, "domain") == domain
        want = {"rep-same.example": ("none", "n"),
                "rep-ext.example": ("quarantine", "n"),
                "rep-test.example": ("reject", "y")}[domain]
        assert (t(pol, "p"), t(pol, "testing")) == want
        # every record against the stored rows (report mail left out)
        mine = [m for m in msgs if m["policy_domain"] == domain and
                m["env_from"] != "mx.example.net"]
        assert xml_records(root) == expected_records(mine)
        # and the counts against what was sent
        got = collections.Counter()
        for rec in root.findall(NS + "record"):
            hf = t(rec, "identifiers/header_from")
            got[(hf, t(rec, "row/source_ip"))] += int(t(rec, "row/count"))
        assert got == collections.Counter(
            {k: v for k, v in sent.items()
             if k[0] == domain or k[0].endswith("." + domain)})
    # envelope_to in the XML: the signed pass from GOOD is two records,
    # by recipient domain (3 to DOMAIN, 1 to rep-test.example)
    same = ET.fromstring(reports["rep-same.example"][2])
    by_to = collections.Counter()
    for r in same.findall(NS + "record"):
        if t(r, "row/source_ip") == GOOD and \
                t(r, "identifiers/header_from") == "rep-same.example":
            by_to[t(r, "identifiers/envelope_to")] += int(t(r, "row/count"))
    assert by_to == {DOMAIN: 3, "rep-test.example": 1}, by_to
    # the forwarded failure: DKIM failed, SPF of the forwarder, no alignment
    fwd = [r for r in same.findall(NS + "record")
           if t(r, "row/source_ip") == FWD]
    assert len(fwd) == 1
    assert (t(fwd[0], "row/policy_evaluated/dkim"),
            t(fwd[0], "row/policy_evaluated/spf")) == ("fail", "fail")
    assert t(fwd[0], "auth_results/dkim/result") == "fail"
    # t=y: the policy was not applied, and the report says why
    tst = ET.fromstring(reports["rep-test.example"][2])
    assert [t(r, "row/policy_evaluated/reason/type")
            for r in tst.findall(NS + "record")] == ["policy_test_mode"]
    # p=quarantine, passed: disposition "pass"
    ext = ET.fromstring(reports["rep-ext.example"][2])
    assert [t(r, "row/policy_evaluated/disposition")
            for r in ext.findall(NS + "record")] == ["pass"]
    st.first = {d: r[0]["Subject"] for d, r in reports.items()}
    st.period = (begin, end)
    st.ndelivered = len(maildir(st))


def test_second_run_sends_nothing(rs):
    st = rs
    before = open(os.path.join(st.dir, "calls")).read()
    rc, log = run(st, "--begin", str(st.period[0]), "--end",
                  str(st.period[1]))
    assert rc == 0, log
    assert "sent=0" in log, log
    assert open(os.path.join(st.dir, "calls")).read() == before
    time.sleep(1)
    assert len(maildir(st)) == st.ndelivered


def test_failed_submission_is_retried_with_same_report_id(rs):
    st = rs
    begin, end = st.period[0] - 60, st.period[1] + 60
    open(os.path.join(st.dir, "fail"), "w").close()
    rc, log = run(st, "--begin", str(begin), "--end", str(end))
    os.unlink(os.path.join(st.dir, "fail"))
    assert rc == 1, log
    failed = {}
    for n in os.listdir(st.dir):
        if n.startswith("failed."):
            with open(os.path.join(st.dir, n), "rb") as f:
                msg, fname, _ = unpack(f.read())
            failed[" ".join(str(msg["Subject"]).split()).split()[2]] = \
                (str(msg["Subject"]), fname)
    assert len(failed) == 3, log
    state = rows(st, "SELECT policy_domain, state, attempts, last_error FROM "
                 "am_report WHERE begin_t = %d" % begin)
    assert sorted((r["state"], r["attempts"]) for r in state) == \
        [("failed", 1)] * 3, state
    assert all("exit 75" in r["last_error"] for r in state), state

    # the next run (its own period sent already) retries them
    rc, log = run(st, "--begin", str(st.period[0]), "--end",
                  str(st.period[1]))
    assert rc == 0, log
    assert wait_for(lambda: len(maildir(st)) == st.ndelivered + 3, 20), log
    seen = {}
    for raw in maildir(st).values():
        msg, fname, _ = unpack(raw)
        if "!%d!" % begin in fname:
            seen[" ".join(str(msg["Subject"]).split()).split()[2]] = \
                (str(msg["Subject"]), fname)
    assert seen == failed
    state = rows(st, "SELECT state, attempts FROM am_report WHERE "
                 "begin_t = %d" % begin)
    assert sorted((r["state"], r["attempts"]) for r in state) == \
        [("sent", 2)] * 3, state
