"""The pending-verdict rule (milter/server/engine.h), in both engines: a
result other than CONTINUE at a step negotiated as "no reply" is kept and
given at the next step the MTA waits for.  libmilter does not do this by
itself (it sends nothing at such a step and drops the result, logging
"milter claimed not to reply"): lmengine.c keeps it.

The result before end of message here is an internal error: HELO with
no CONNECT before it leaves the filter without connection state
(callbacks.c cb_helo), so OnInternalError applies: tempfail, 451."""

import pytest

import milterclient as mc
from conftest import make_msg, new_qid
from milterclient import MilterClient, split_message


@pytest.fixture(scope="module")
def pm(milters):
    """a daemon of its own: the internal errors here stay out of the shared
    daemons' logs (test_zz_logs)"""
    m = milters.new("pending").start()
    yield m
    m.terminate()
    assert m.wait(15) == 0, m.log()[-2000:]


def test_verdict_at_no_reply_step_given_at_eom(pm):
    qid = new_qid()
    headers, body = split_message(make_msg(from_="user@example.org"))
    with MilterClient(pm.spec) as c:
        c.optneg()
        assert c.has(mc.SMFIP_NR_HELO) and c.has(mc.SMFIP_NR_HDR)
        # no CONNECT: the filter has no connection state at HELO
        assert c.helo("mail.example.org") is None      # no reply: NR_HELO
        assert c.mail("<user@example.org>", macros={"i": qid}) is None
        assert c.rcpt("<rcpt@example.net>") is None
        for name, value in headers:
            assert c.header(name, value) is None
        assert c.eoh() is None
        c.body(body)
        res = c.eom(macros={"i": qid})
        c.quit()
    # the kept verdict, with the reply text set where it was decided
    assert res.step == "eom", res
    assert res.action == "replycode" and res.reply.startswith("451 "), res
    assert res.ops == [], res.ops       # the filter never saw this end
    assert "no connection state at HELO" in pm.log()


def test_next_message_after_kept_verdict_is_judged_anew(pm):
    """the kept verdict belongs to that message only: the next one on the
    connection (after a CONNECT) gets its own"""
    q1, q2 = new_qid(), new_qid()
    msg = make_msg(from_="user@example.org")
    with MilterClient(pm.spec) as c:
        c.optneg()
        c.helo("mail.example.org")
        r1 = mc.transaction(c, msg, mailfrom="<user@example.org>",
                            queue_id=q1)
        assert r1.action == "replycode" and r1.reply.startswith("451 "), r1
        c.quit()
    with MilterClient(pm.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, "192.0.2.10")
        c.helo("mail.example.org")
        r2 = mc.transaction(c, msg, mailfrom="<user@example.org>",
                            queue_id=q2)
        assert r2.action in ("accept", "continue"), r2
        c.quit()
