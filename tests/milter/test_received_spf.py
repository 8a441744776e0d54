"""AddReceivedSPF: an RFC 7208 section 9.1 Received-SPF header below our
A-R header; off by default."""

from conftest import BAD_IP, GOOD_IP, accepted_ar, make_msg


def received_spf_ops(res):
    return [op for op in res.ops if op.kind in ("add", "insert") and
            op.name.lower() == "received-spf"]


def test_received_spf_off_by_default(milter):
    res = milter.send(make_msg(from_="user@example.org"),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP)
    accepted_ar(res)            # exactly one new header: the A-R
    assert received_spf_ops(res) == []


def test_received_spf_pass_and_fail(milters):
    m = milters.get("received-spf", [("AddReceivedSPF", "yes")])
    for ip, result in ((GOOD_IP, "pass"), (BAD_IP, "fail")):
        res = m.send(make_msg(from_="user@example.org", subject=result),
                     mailfrom="<user@example.org>", client_addr=ip)
        if result == "fail":    # example.org is p=reject: nothing is added
            assert res.action == "replycode", res
            assert received_spf_ops(res) == []
            continue
        ops = received_spf_ops(res)
        assert len(ops) == 1 and ops[0].index == 0, res.ops
        value = ops[0].value.strip()
        assert value.startswith(result + " "), value
        assert "client-ip=%s;" % ip in value, value
        assert 'envelope-from="user@example.org";' in value, value
        assert "identity=mailfrom" in value, value
        # our A-R stays the first header of the delivered message
        delivered = res.apply(res.headers_sent)
        assert delivered[0][0] == "Authentication-Results", delivered[:3]
        assert delivered[1][0] == "Received-SPF", delivered[:3]
