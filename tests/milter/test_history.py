"""The DMARC history (issue 13, README "History"): messages through the real
daemon and nsd land in its SQLite file with the right columns; the messages
that must not be recorded are not.

Records (conftest.zone_records):
  _dmarc.hist.example     v=DMARC1; p=reject; sp=quarantine; adkim=s;
                          fo=1:d; rua=mailto:agg@..,mailto:agg2@..; ruf=...
  sub.hist.example        exists, no record of its own: inherits sp
  _dmarc.testing.example  v=DMARC1; p=reject; t=y
  example.info            no DMARC record

Each test sends from its own client address and finds its rows by it.  A
"no row" test sends a recorded message after the unrecorded one and waits
for that: the writer keeps the order, so the first one would be there.
"""

import os
import time

from conftest import (AUTHSERV_ID, accepted_ar, make_msg, rejected, sign,
                      wait_for)
from faultdns import FaultDNS
from histlib import rows, wait_rows
import milterclient as mc


def hist_path(m):
    return os.path.join(m.dir, "history-%s.db" % m.name)


def hist_milter(milters):
    return milters.get("history")


def test_history_pass_row_has_every_column(milters, keys):
    m = hist_milter(milters)
    msg = sign(make_msg(from_="User <user@hist.example>"), "rsa",
               "hist.example", keys.rsa_key)
    t0 = int(time.time())
    res = m.send(msg, mailfrom="<bounce@Pass.Example.Info>",
                 client_addr="203.0.113.11")
    accepted_ar(res)
    [r] = wait_rows(hist_path(m), "source_ip = ?", ("203.0.113.11",))
    assert t0 <= r["t"] <= int(time.time()) + 1, r
    want = {
        "reporter": AUTHSERV_ID, "env_from": "pass.example.info",
        "env_to": "example.net", "header_from": "hist.example",
        "policy_domain": "hist.example", "org_domain": "hist.example",
        "discovery": "treewalk", "p": "reject", "sp": "quarantine",
        "np": "", "adkim": "s", "aspf": "r", "testing": "n", "psd": "u",
        "fo": "1:d",
        "rua": "mailto:agg@hist.example,mailto:agg2@hist.example",
        "ruf": "mailto:frep@hist.example", "pct": 100, "policy_tag": "p",
        "dmarc_result": "pass", "dkim_aligned": 1, "spf_aligned": 0,
        "disposition": "none", "override": "", "override_comment": "",
        "spf_domain": "pass.example.info", "spf_scope": "mfrom",
        "spf_result": "fail", "dkim": "hist.example rsa pass\n",
    }
    assert {k: r[k] for k in want} == want


def test_history_fail_reject_row(milters):
    m = hist_milter(milters)
    res = m.send(make_msg(from_="user@hist.example"),
                 mailfrom="<user@hist.example>", client_addr="203.0.113.12")
    rejected(res)
    [r] = wait_rows(hist_path(m), "source_ip = ?", ("203.0.113.12",))
    assert (r["dmarc_result"], r["disposition"], r["override"],
            r["dkim_aligned"], r["spf_aligned"], r["spf_result"],
            r["spf_domain"], r["dkim"]) == \
        ("fail", "reject", "", 0, 0, "fail", "hist.example", ""), r


def test_history_testing_mode_row(milters):
    # t=y: p=reject is applied as quarantine (header only here): delivered,
    # and the override says why the record's policy was not enforced
    m = hist_milter(milters)
    res = m.send(make_msg(from_="user@testing.example"),
                 mailfrom="<user@testing.example>",
                 client_addr="203.0.113.13")
    assert res.reply is None, res
    [r] = wait_rows(hist_path(m), "source_ip = ?", ("203.0.113.13",))
    assert (r["dmarc_result"], r["testing"], r["p"], r["disposition"],
            r["override"], r["policy_domain"]) == \
        ("fail", "y", "reject", "none", "policy_test_mode",
         "testing.example"), r


def test_history_subdomain_inherits_parent_record(milters):
    m = hist_milter(milters)
    res = m.send(make_msg(from_="user@sub.hist.example"),
                 mailfrom="<user@sub.hist.example>",
                 client_addr="203.0.113.14")
    assert res.reply is None, res      # sp=quarantine, header only
    [r] = wait_rows(hist_path(m), "source_ip = ?", ("203.0.113.14",))
    assert (r["header_from"], r["policy_domain"], r["org_domain"],
            r["policy_tag"], r["sp"], r["dmarc_result"], r["disposition"],
            r["override"]) == \
        ("sub.hist.example", "hist.example", "hist.example", "sp",
         "quarantine", "fail", "none", "local_policy"), r
    assert "quarantine" in r["override_comment"], r


def test_history_env_to_first_rcpt_per_message(milters):
    """RFC 9990 envelope_to: the first RCPT TO's domain, per message.  One
    SMTP connection, three messages (t=y: failed and delivered, recorded):
    the first has two recipients (the first one counts), the second its
    own, the third starts with <postmaster> (no domain: '', the later
    recipient does not replace it)."""
    m = hist_milter(milters)
    ip = "203.0.113.18"
    sent = [(("<A@Rcpt-One.Example>", "<b@other.example>"),
             "rcpt-one.example"),
            (("<c@rcpt-two.example>",), "rcpt-two.example"),
            (("<postmaster>", "<d@rcpt-three.example>"), "")]
    with mc.MilterClient(m.spec) as c:
        c.optneg(mc.SMFIF_ALL, mc.SMFIP_ALL)
        # the daemon takes RCPT, without a reply (issue 13)
        assert not c.has(mc.SMFIP_NORCPT) and c.has(mc.SMFIP_NR_RCPT), \
            hex(c.protocol)
        assert c.connect("mail.example.org", "4", 40000, ip,
                         macros={"j": "mx.authmilter.example"}) is None
        assert c.helo("mail.example.org") is None
        for i, (rcpts, _) in enumerate(sent):
            res = mc.transaction(c, make_msg(from_="user@testing.example"),
                                 mailfrom="<user@testing.example>",
                                 rcpts=rcpts, queue_id="HISTRCPT%d" % i)
            assert res.reply is None, res
        c.quit()
    got = wait_rows(hist_path(m), "source_ip = ?", (ip,), n=len(sent))
    assert [r["env_to"] for r in got] == [want for _, want in sent], got


def sentinel(m, ip):
    """a message that is recorded, sent last; waits for its row"""
    m.send(make_msg(from_="user@hist.example"),
           mailfrom="<user@hist.example>", client_addr=ip)
    wait_rows(hist_path(m), "source_ip = ?", (ip,))


def test_history_no_record_no_row(milters):
    m = hist_milter(milters)
    res = m.send(make_msg(from_="user@example.info"),
                 mailfrom="<user@example.info>", client_addr="203.0.113.15")
    accepted_ar(res)
    sentinel(m, "203.0.113.115")
    assert rows(hist_path(m), "source_ip = ?", ("203.0.113.15",)) == []


def test_history_exempt_client_no_row(milters):
    # IgnoreHosts (default 127.0.0.1): no checks, no record
    m = hist_milter(milters)
    m.send(make_msg(from_="user@hist.example"),
           mailfrom="<user@hist.example>", client_addr="127.0.0.1")
    sentinel(m, "203.0.113.116")
    assert rows(hist_path(m), "source_ip = ?", ("127.0.0.1",)) == []


def test_history_tempfail_no_row(milters, nsd):
    # a 4xx is retried by the MTA: recording it would count it twice.
    # SERVFAIL for hist.example's SPF: the aligned identifier's temperror
    # makes DMARC temperror with the record found; OnTempError tempfail
    fd = FaultDNS(nsd.port, {"hist.example": "servfail"})
    try:
        m = milters.get("history-tempfail", [("OnTempError", "tempfail")],
                        nameservers=fd.spec)
        res = m.send(make_msg(from_="user@hist.example"),
                     mailfrom="<user@hist.example>",
                     client_addr="203.0.113.17")
        rejected(res, "451", "4.4.3")
        s = m.summary(res.qid)
        assert s.get("dmarc") == "temperror", s["line"]
        # recorded: t=y fail, delivered (a final verdict)
        m.send(make_msg(from_="user@testing.example"),
               mailfrom="<user@testing.example>", client_addr="203.0.113.117")
        wait_rows(hist_path(m), "source_ip = ?", ("203.0.113.117",))
        assert rows(hist_path(m), "source_ip = ?", ("203.0.113.17",)) == []
    finally:
        fd.close()


def test_history_reload_switches_store_and_stop_flushes(milters, workdir):
    """SIGHUP with a new HistoryDB: later rows go to the new file; SIGTERM
    right after a burst: the queue is written before the daemon exits"""
    import signal
    first = os.path.join(workdir, "history-switch-1.db")
    second = os.path.join(workdir, "history-switch-2.db")
    m = milters.new("hist-switch", [("HistoryDB", first)])
    m.start()
    m.send(make_msg(from_="user@hist.example"),
           mailfrom="<user@hist.example>", client_addr="203.0.113.30")
    wait_rows(first, "source_ip = ?", ("203.0.113.30",))
    with open(m.conf) as f:
        conf = f.read()
    with open(m.conf, "w") as f:
        f.write(conf.replace(first, second))
    m.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "history: store now %s" % second in m.log(), 5, 0.05)
    assert "history: store now %s" % second in m.log(), m.log()[-2000:]
    for i in range(5):
        m.send(make_msg(from_="user@hist.example"),
               mailfrom="<user@hist.example>",
               client_addr="203.0.113.%d" % (31 + i))
    m.terminate()                       # well within the writer's 200 ms tick
    assert m.wait(15) == 0, m.log()[-2000:]
    assert len(rows(second, "source_ip LIKE ?", ("203.0.113.3_",))) == 5
    assert rows(first, "source_ip != ?", ("203.0.113.30",)) == []
