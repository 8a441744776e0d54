"""The milter conversation itself: negotiation, MTAs that offer less,
missing macros, several messages and aborts on one connection, odd input.
The daemon must give a sane answer and stay up."""

import socket
import struct

import milterclient as mc
from conftest import (GOOD_IP, BAD_IP, accepted_ar, ar_entries, assert_ar,
                      make_msg, new_qid, rejected, sign)

PASS_AR = [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
           ("dkim", "none", {}),
           ("dmarc", "pass", {"header.from": "example.org"})]


def good(milter, **kw):
    kw.setdefault("mailfrom", "<user@example.org>")
    kw.setdefault("client_addr", GOOD_IP)
    return milter.send(make_msg(from_="user@example.org"), **kw)


def test_negotiation(milter):
    with mc.MilterClient(milter.spec) as c:
        version, actions, protocol = c.optneg()
        assert version == 6
        need = mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS | mc.SMFIF_QUARANTINE
        assert actions & need == need, hex(actions)
        # never more than it uses: no body or recipient changes
        assert not actions & (mc.SMFIF_CHGBODY | mc.SMFIF_ADDRCPT |
                              mc.SMFIF_DELRCPT | mc.SMFIF_CHGFROM), \
            hex(actions)
        assert protocol & mc.SMFIP_HDR_LEADSPC, hex(protocol)
        # headers and body chunks need no reply (protocol CPU)
        assert protocol & mc.SMFIP_NR_HDR and protocol & mc.SMFIP_NR_BODY, \
            hex(protocol)
        # it needs headers, body, MAIL and connect
        assert not protocol & (mc.SMFIP_NOHDRS | mc.SMFIP_NOBODY |
                               mc.SMFIP_NOMAIL | mc.SMFIP_NOCONNECT), \
            hex(protocol)
        c.quit()


def test_mta_without_noreply_or_leadspc(milter, keys):
    """an older MTA: offers only the NO* steps, no SMFIP_NR_*, no LEADSPC;
    the filter answers every step and still verifies relaxed DKIM"""
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    offer = (mc.SMFIP_NOCONNECT | mc.SMFIP_NOHELO | mc.SMFIP_NOMAIL |
             mc.SMFIP_NORCPT | mc.SMFIP_NOBODY | mc.SMFIP_NOHDRS |
             mc.SMFIP_NOEOH | mc.SMFIP_NOUNKNOWN | mc.SMFIP_NODATA)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=BAD_IP,
                      offer_protocol=offer)
    assert res.client.protocol & ~offer == 0
    # RCPT taken, each answered (no NR_RCPT offered): history envelope_to
    assert not res.client.protocol & mc.SMFIP_NORCPT, hex(res.client.protocol)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "fail", {"smtp.mailfrom": "user@example.org"}),
                   ("dkim", "pass", {"header.d": "example.org"}),
                   ("dmarc", "pass", {"header.from": "example.org"})])


def test_added_header_leading_space(milter):
    """Postfix and sendmail add no space after the colon of a header the
    filter adds when SMFIP_HDR_LEADSPC is negotiated: the value must start
    with one (found end to end: Postfix wrote 'Authentication-Results:mx')"""
    res = good(milter)
    ins = [op for op in res.ops if op.kind == "insert"]
    assert res.client.protocol & mc.SMFIP_HDR_LEADSPC
    assert len(ins) == 1 and ins[0].raw.startswith(" ") and \
        not ins[0].raw.startswith("  "), ins


def test_added_header_no_leadspc(milter):
    """without SMFIP_HDR_LEADSPC the MTA adds the space: none of ours"""
    offer = (mc.SMFIP_NOUNKNOWN | mc.SMFIP_NODATA | mc.SMFIP_NR_HDR |
             mc.SMFIP_NR_BODY)
    res = good(milter, offer_protocol=offer)
    assert not res.client.protocol & mc.SMFIP_HDR_LEADSPC
    ins = [op for op in res.ops if op.kind == "insert"]
    assert len(ins) == 1 and not ins[0].raw[:1].isspace(), ins
    assert_ar(ins[0].value, PASS_AR)


def test_mta_without_quarantine_action(milters):
    """MTA that cannot quarantine: a held p=quarantine message is still
    delivered with its A-R, never lost"""
    m = milters.get("hold", [("HoldQuarantinedMessages", "yes")])
    res = m.send(make_msg(from_="user@example.biz"),
                 mailfrom="<user@example.biz>",
                 offer_actions=mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS)
    assert res.step == "eom" and res.quarantine is None
    assert res.action in ("accept", "continue"), res


def test_no_macros_at_all(milter):
    res = good(milter, send_macros=False)
    assert_ar(accepted_ar(res), PASS_AR)


def test_no_helo(milter):
    res = good(milter, helo=None)
    assert_ar(accepted_ar(res), PASS_AR)


def test_two_messages_one_connection(milter):
    with mc.MilterClient(milter.spec) as c:
        c.optneg()
        assert c.connect("mail.example.org", "4", 4000, BAD_IP,
                         macros={"j": "mx"}) is None
        assert c.helo("mail.example.org") is None
        q1, q2 = new_qid(), new_qid()
        # first: DMARC fail under p=reject
        r1 = mc.transaction(c, make_msg(from_="user@example.org"),
                            mailfrom="<user@example.org>", queue_id=q1)
        rejected(r1)
        # second, same connection: SPF-aligned domain of its own (pass)
        r2 = mc.transaction(c, make_msg(from_="user@example.com"),
                            mailfrom="<user@example.com>", queue_id=q2)
        ar = accepted_ar(r2)
        assert_ar(ar, [("spf", "pass", {"smtp.mailfrom": "user@example.com"}),
                       ("dkim", "none", {}),
                       ("dmarc", "pass", {"header.from": "example.com"})])
        c.quit()
    assert milter.summary(q1)["action"] == "reject"
    assert milter.summary(q2)["action"] == "accept"


def test_abort_then_message(milter):
    with mc.MilterClient(milter.spec) as c:
        c.optneg()
        c.connect("mail.example.org", "4", 4000, GOOD_IP)
        c.helo("mail.example.org")
        # a message that is aborted after its headers
        c.mail("<user@example.org>", macros={"i": new_qid()})
        c.rcpt("<rcpt@example.net>")
        c.header("From", " user@example.net")
        c.header("Authentication-Results", " mx.authmilter.example; x=y")
        c.abort()
        # the next one must not inherit its From or forged-header state
        r = mc.transaction(c, make_msg(from_="user@example.org"),
                           mailfrom="<user@example.org>", queue_id=new_qid())
        ar = accepted_ar(r)
        assert_ar(ar, PASS_AR)
        assert not [op for op in r.ops if op.kind == "change"], r.ops
        c.quit()


def test_client_hangs_up_mid_message(milter):
    c = mc.MilterClient(milter.spec)
    c.optneg()
    c.connect("mail.example.org", "4", 4000, GOOD_IP)
    c.mail("<user@example.org>", macros={"i": new_qid()})
    c.rcpt("<rcpt@example.net>")
    c.header("From", " user@example.org")
    c.body(b"partial body\r\n")
    c.close()
    # the daemon is still there and works
    assert_ar(accepted_ar(good(milter)), PASS_AR)


def test_garbage_packet(milter):
    s = socket.create_connection(("127.0.0.1", milter.port), 5)
    s.sendall(struct.pack("!I", 5) + b"Zjunk")
    s.sendall(struct.pack("!I", 0xFFFFFFF0) + b"O")   # absurd length
    s.close()
    assert_ar(accepted_ar(good(milter)), PASS_AR)


def test_many_headers(milter):
    """10,000 headers: an answer within the timeout, no crash; the message
    is delivered (never lost) whatever the A-R says"""
    extra = [("X-Many-%d" % i, "value %d" % i) for i in range(10000)]
    res = milter.send(make_msg(from_="user@example.org", headers=extra),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP,
                      timeout=60)
    assert res.step == "eom"
    assert res.action in ("accept", "continue") or res.tempfailed, res
    assert_ar(accepted_ar(good(milter)), PASS_AR)


def test_eight_bit_and_odd_bytes(milter):
    raw = ("From: =?utf-8?q?J=C3=BCrgen?= <user@example.org>\r\n"
           "To: Jürgen <rcpt@example.net>\r\n"
           "Subject: caf\xe9 \x01\x7f ünïcödé\r\n"
           "\r\n"
           "bödy with 8-bit \xff\xfe bytes\r\n").encode("utf-8",
                                                        "surrogateescape")
    res = milter.send(raw, mailfrom="<user@example.org>", client_addr=GOOD_IP)
    assert_ar(accepted_ar(res), PASS_AR)


def test_ipv6_client(milter):
    res = good(milter, client_addr="2001:db8::10", family="6")
    assert_ar(accepted_ar(res), PASS_AR)


def test_unknown_family_client(milter):
    """connect with family 'U' (the MTA does not know the client address):
    SPF cannot pass, but the mail must not be tempfailed for ever or lost:
    it is delivered with an A-R"""
    with mc.MilterClient(milter.spec) as c:
        c.optneg()
        r = c.connect("unknown", "U", 0, "")
        assert r is None, r
        r = c.helo("mail.example.org")
        assert r is None, r
        r = mc.transaction(c, make_msg(from_="user@example.info"),
                           mailfrom="<user@pass.example.info>",
                           queue_id=new_qid())
        ar = accepted_ar(r)
        _, got = ar_entries(ar)
        spf = [g for g in got if g[0] == "spf" and "smtp.mailfrom" in g[2]]
        assert len(spf) == 1 and spf[0][1] != "pass", ar
        c.quit()
