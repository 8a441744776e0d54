"""Our Authentication-Results header: its place and shape, and forged ones
claiming our authserv-id removed (RFC 8601 section 5)."""

import re

import pytest

from conftest import (GOOD_IP, AUTHSERV_ID, accepted_ar, ar_entries,
                      assert_ar, make_msg, naive_methods, parse_ar, sign)
from milterclient import HeaderOp, split_message

# comments nested one deeper than authres.c follows (AR_COMMENT_MAX)
DEEP = "(" * 33 + ")" * 33
FORGED = [
    "mx.authmilter.example; spf=pass smtp.mailfrom=user@example.org",
    "MX.AUTHMILTER.EXAMPLE; dkim=pass header.d=example.org",
    "  (forged)  mx.authmilter.example ; dmarc=pass header.from=example.org",
    "\t\"mx.authmilter.example\"; dmarc=pass",
    "mx.authmilter.example;\r\n\tdkim=pass header.d=example.org",
    DEEP + " mx.authmilter.example; dkim=pass header.d=example.org",
    "(" * 200 + "x" + ")" * 200 + " mx.authmilter.example; dmarc=pass",
]
FOREIGN = [
    "other.example; spf=pass smtp.mailfrom=user@example.org",
    "mx.authmilter.example.evil; dkim=pass header.d=example.org",
    "other.example; dmarc=pass (mx.authmilter.example; not the id)",
    DEEP + " other.example; dkim=pass header.d=example.org",
]


def build(headers):
    """message bytes with the given (name, value) headers first; values
    are written after "Name:" as given (caller supplies the space)"""
    base = make_msg(from_="user@example.org")
    head = b"".join(b"%s:%s\r\n" % (n.encode(), v.encode())
                    for n, v in headers)
    return head + base


def test_ar_shape(milter, keys):
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=GOOD_IP,
                      helo="mail.example.org")
    ar = accepted_ar(res)
    # exact layout: authserv-id, then one method per line folded "\n\t"
    lines = ar.split("\n\t")
    assert lines[0] == AUTHSERV_ID + ";", ar
    assert lines[1] == "spf=pass smtp.helo=mail.example.org;", ar
    assert lines[2] == "spf=pass smtp.mailfrom=user@example.org;", ar
    assert lines[3].startswith("dkim=pass header.d=example.org header.s=rsa "
                               "header.a=rsa-sha256 header.b="), ar
    assert lines[4] == "arc=none;", ar
    assert lines[5] == "dmarc=pass (p=reject dis=none) header.from=example.org",\
        ar
    assert len(lines) == 6


def test_forged_ar_removed_foreign_kept(milter):
    # interleave forged and foreign ones with other headers
    hdrs = []
    for i in range(max(len(FORGED), len(FOREIGN))):
        if i < len(FORGED):
            hdrs.append(("Authentication-Results", " " + FORGED[i]
                         if not FORGED[i][0].isspace() else FORGED[i]))
        if i < len(FOREIGN):
            hdrs.append(("Authentication-Results", " " + FOREIGN[i]))
        hdrs.append(("X-Filler-%d" % i, " x"))
    msg = build(hdrs)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=GOOD_IP)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom": "user@example.org"}),
                   ("dkim", "none", {}),
                   ("dmarc", "pass", {"header.from": "example.org"})])

    sent, _ = split_message(msg)
    ars = [v for n, v in sent if n.lower() == "authentication-results"]
    forged_idx = [i + 1 for i, v in enumerate(ars)
                  if v.strip().replace("\r\n", "").lstrip() in
                  [f.replace("\r\n", "").strip() for f in FORGED]]
    assert len(forged_idx) == len(FORGED)
    deletions = [op for op in res.ops if op.kind == "change"]
    # one delete (empty value) per forged header, with its 1-based index
    assert sorted(op.index for op in deletions) == forged_idx, res.ops
    assert all(op.value == "" for op in deletions), res.ops
    # applied in order, the deletions must hit exactly the forged ones
    delivered = res.apply(sent)
    got_ars = [v for n, v in delivered if n.lower() == "authentication-results"]
    assert got_ars[0] == ar
    assert [v.strip() for v in got_ars[1:]] == FOREIGN
    # everything else is untouched and in order
    others = [(n, v) for n, v in delivered[1:]
              if n.lower() != "authentication-results"]
    assert others == [(n, v) for n, v in sent
                      if n.lower() != "authentication-results"]


def test_forged_ar_only_one(milter):
    msg = build([("Authentication-Results", " " + FORGED[0])])
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=GOOD_IP)
    accepted_ar(res)
    assert [op for op in res.ops if op.kind == "change"] == [
        HeaderOp("change", 1, "Authentication-Results", "")]


@pytest.mark.parametrize("client", ["192.0.2.99", None])
def test_forged_ar_removed_for_exempt_clients_too(milters, milter, client):
    m = milters.get("ignore", [("IgnoreHosts", "192.0.2.99")]) \
        if client else milter
    msg = build([("Authentication-Results", " " + FORGED[0])])
    kw = {"client_addr": client} if client else {"auth_authen": "alice"}
    res = m.send(msg, mailfrom="<user@example.org>", **kw)
    accepted_ar(res)
    assert [op for op in res.ops if op.kind == "change"] == [
        HeaderOp("change", 1, "Authentication-Results", "")]


def test_deep_comment_forgery_removed(milter):
    # issue 15 defect 6: the comment depth limit made our parse fail and
    # the header stayed, although python3-authres reads the id as ours
    forged = DEEP + " mx.authmilter.example; dkim=pass header.d=example.org"
    assert parse_ar(forged).authserv_id == AUTHSERV_ID
    msg = build([("Authentication-Results", " " + forged)])
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=GOOD_IP)
    ar = accepted_ar(res)
    delivered = res.apply(res.headers_sent)
    kept = [v for n, v in delivered if n.lower() == "authentication-results"]
    assert kept == [ar], kept


# ------------------------------------------- every A-R parses (defect 9)


def strict_ar(res):
    """our A-R: ASCII, parsed by python3-authres with our authserv-id and
    the same method results as a grammar-free reading; returns entries"""
    ar = accepted_ar(res)
    assert ar.isascii(), ar
    h, got = ar_entries(ar)
    assert h.authserv_id == AUTHSERV_ID, ar
    assert [(m, r) for m, r, _, _ in got] == naive_methods(ar), ar
    return got


def props(got, method):
    """the properties of each entry for method, quoted-pairs undone (the
    parser keeps them)"""
    return [{k: re.sub(r'\\(.)', r'\1', v) for k, v in p.items()}
            for m, _, p, _ in got if m == method]


LONG_S = "s" * 63
LONG_D = ".".join(["l%02d" % i + "x" * 59 for i in range(3)]) + ".example"


@pytest.mark.parametrize("mailfrom,want", [
    ("<\u00e9\u00e9\u00e9@example.org>", "example.org"),
    ("<j\u00f6rg.m\u00fcller@example.org>", "example.org"),
    ('<"\u00e9 x"@example.org>', "example.org"),
    ('<"john doe"@example.org>', '"john doe"@example.org'),
    ('<"a\\"b"@example.org>', '"a\\"b"@example.org'),
    ("<user+tag=x@example.org>", "user+tag=x@example.org"),
    ("<>", None),
    ("<user@b\u00fccher.example>", None),
    ("<\u00e9@b\u00fccher.example>", None),
])
def test_mailfrom_parses(milter, mailfrom, want):
    # From example.com (p=none): unaligned MAIL FROMs are still delivered
    res = milter.send(make_msg(from_="user@example.com"), mailfrom=mailfrom,
                      client_addr=GOOD_IP, helo="mail.example.org")
    got = strict_ar(res)
    if want is not None:
        p = [q for q in props(got, "spf") if "smtp.mailfrom" in q]
        assert p and p[0]["smtp.mailfrom"] == want, got


@pytest.mark.parametrize("helo", [
    "[192.0.2.10]", "[IPv6:2001:db8::10]", "under_score.example.org",
    "x;y=z", "a\"b", "(c)", "b\u00fccher.example", "-dash-.example",
    "h" * 250, "mail.example.org.",
])
def test_helo_parses(milter, helo):
    res = milter.send(make_msg(from_="user@example.org"),
                      mailfrom="<user@example.org>", client_addr=GOOD_IP,
                      helo=helo)
    strict_ar(res)


@pytest.mark.parametrize("selector,domain", [
    (LONG_S, "example.org"), ("rsa", LONG_D), (LONG_S, LONG_D),
    ("a-b_c", "sub-1.example.org"), ("rsa", "b\u00fccher.example"),
])
def test_long_dkim_parses(milter, keys, selector, domain):
    msg = sign(make_msg(from_="user@example.org"), selector, domain,
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@example.org>", client_addr=GOOD_IP,
                      helo="mail.example.org")
    got = strict_ar(res)
    d = props(got, "dkim")
    if not domain.isascii():    # RFC 8601 2.2: no UTF-8 pvalue, left out
        assert d and "header.d" not in d[0], got
        return
    assert d and d[0]["header.d"] == domain and \
        d[0]["header.s"] == selector, got


def test_received_spf_smtputf8_local_part(milters):
    """RFC 7208 9.1: the domain alone, not '?' for each UTF-8 byte"""
    m = milters.get("received-spf", [("AddReceivedSPF", "yes")])
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<\u00e9\u00e9\u00e9@example.org>",
                 client_addr=GOOD_IP, helo="mail.example.org")
    ops = [op for op in res.ops if op.name.lower() == "received-spf"]
    assert len(ops) == 1, res.ops
    value = ops[0].value.strip()
    assert value.isascii() and "?" not in value, value
    assert "envelope-from=example.org;" in value, value
