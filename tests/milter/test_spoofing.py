"""Spoofing cases, one place (issue 7): each test sends what an attacker
would and states the verdict that must come out.

Domains (conftest.zone_records plus the IDN records of this module):
  example.org   p=reject, SPF allows GOOD_IP (192.0.2.10) only
  example.com   p=none sp=reject, SPF allows BAD_IP's /24
  xn--bcher-kva.example (buecher with u-umlaut)  p=reject, SPF allows GOOD_IP
  xn--mxabzl.example (Greek "bank", lower-case)  p=reject, SPF allows GOOD_IP
An attacker sends from BAD_IP (198.51.100.20) with MAIL FROM in example.com
(SPF pass there), and tries to make a message look like example.org's.
"""

import pytest

from conftest import (BAD_IP, GOOD_IP, AUTHSERV_ID, NsdServer, accepted_ar,
                      ar_entries, make_msg, rejected, sign, txt_rdata,
                      zone_records)

SPOOF = dict(mailfrom="<attacker@example.com>", client_addr=BAD_IP,
             helo="mail.example.com")
IDN_A = "xn--bcher-kva.example"         # A-label of the U-label below
IDN_U = "b\u00fccher.example"
GREEK_A = "xn--mxabzl.example"          # A-label of "\u03b2\u03b1\u03bd\u03ba.example"


@pytest.fixture(scope="module")
def spoof_milter(keys, milters, tmp_path_factory):
    """the default daemon, on an nsd that also serves the IDN domain"""
    extra = [
        (IDN_A, "A", "192.0.2.1"),
        (IDN_A, "TXT", txt_rdata("v=spf1 ip4:%s -all" % GOOD_IP)),
        ("_dmarc." + IDN_A, "TXT", txt_rdata("v=DMARC1; p=reject")),
        ("rsa._domainkey." + IDN_A, "TXT", txt_rdata(keys.rsa_txt)),
        (GREEK_A, "TXT", txt_rdata("v=spf1 ip4:%s -all" % GOOD_IP)),
        ("_dmarc." + GREEK_A, "TXT", txt_rdata("v=DMARC1; p=reject")),
    ]
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-spoof")),
                       zone_records(keys) + extra)
    server.start()
    yield milters.get("spoof", nameservers="127.0.0.1@%d" % server.port)
    server.stop()


def dmarc_of(value):
    """(result, header.from) of the dmarc entry of an A-R value"""
    _, got = ar_entries(value)
    d = [(g[1], g[2].get("header.from")) for g in got if g[0] == "dmarc"]
    assert len(d) == 1, value
    return d[0]


def unusable_rejected(milter, res, missing=False):
    """an unusable (or no) From: OnMalformedFrom / OnMissingFrom reject,
    the default (tests/milter/test_from_policy.py has the other actions);
    the log has dmarc=permerror and the reason"""
    rejected(res, "550", "5.7.1")
    s = milter.summary(res.qid)
    assert s["dmarc"] == "permerror", s["line"]
    assert s["reason"] == ("no From header, OnMissingFrom reject" if missing
                           else "unusable From header, OnMalformedFrom "
                           "reject"), s["line"]


def raw(headers, body=b"hi\r\n"):
    """a message as ([(name, value)], body): values sent exactly as given"""
    return ([(n, v) for n, v in headers], body)


def base_headers(*from_values):
    return [("From", " " + f) for f in from_values] + [
        ("To", " rcpt@example.net"), ("Subject", " s"),
        ("Date", " Tue, 24 Nov 2026 12:00:00 +0000"),
        ("Message-ID", " <spoof@example.com>")]


# ------------------------------------------------------------- From header

def test_several_from_headers_rejected(spoof_milter):
    """two From fields, a passing one first: the spoofed one decides"""
    res = spoof_milter.send(make_msg(from_headers=["attacker@example.com",
                                                   "ceo@example.org"]), **SPOOF)
    rejected(res)
    s = spoof_milter.summary(res.qid)
    # every From domain is logged; dmarc.domain says which one failed
    assert s["dmarc"] == "fail" and s["from"] == "example.com,example.org" \
        and s["dmarc.domain"] == "example.org", s["line"]


def test_from_with_two_addresses_rejected(spoof_milter):
    res = spoof_milter.send(make_msg(
        from_="attacker@example.com, ceo@example.org"), **SPOOF)
    rejected(res)


def test_quoted_local_part_with_address_is_not_the_domain(spoof_milter):
    """the address is "ceo@example.org"@example.com: author domain
    example.com (p=none, SPF aligned): pass for example.com, not org"""
    res = spoof_milter.send(make_msg(from_='"ceo@example.org"@example.com'),
                            **SPOOF)
    assert dmarc_of(accepted_ar(res)) == ("pass", "example.com")


def test_quoted_display_name_with_address_rejected(spoof_milter):
    """display name "attacker@example.com", real address in example.org"""
    res = spoof_milter.send(make_msg(
        from_='"attacker@example.com" <ceo@example.org>'), **SPOOF)
    rejected(res)


def test_encoded_word_display_name_is_not_the_domain(spoof_milter):
    """=?utf-8?q?ceo=40example.org?= decodes to an address, but it is only
    a display name: the author is attacker@example.com"""
    res = spoof_milter.send(make_msg(
        from_="=?utf-8?q?ceo=40example.org?= <attacker@example.com>"), **SPOOF)
    assert dmarc_of(accepted_ar(res)) == ("pass", "example.com")


def test_encoded_word_as_address_never_passes(spoof_milter):
    """an encoded word where the address should be: no author domain,
    permerror (never pass), an unusable From: rejected"""
    res = spoof_milter.send(make_msg(
        from_="=?utf-8?b?Y2VvQGV4YW1wbGUub3Jn?="), **SPOOF)
    unusable_rejected(spoof_milter, res)


def test_comment_hiding_the_domain_rejected(spoof_milter):
    """CFWS inside the address: ceo@(comment)example.org is example.org"""
    res = spoof_milter.send(make_msg(
        from_="ceo@ (attacker@example.com) example.org"), **SPOOF)
    rejected(res)


def test_comment_with_address_is_not_the_domain(spoof_milter):
    res = spoof_milter.send(make_msg(
        from_="(ceo@example.org) attacker@example.com"), **SPOOF)
    assert dmarc_of(accepted_ar(res)) == ("pass", "example.com")


def test_no_from_header_permerror(spoof_milter):
    res = spoof_milter.send(make_msg(from_headers=[]), **SPOOF)
    unusable_rejected(spoof_milter, res, missing=True)


def test_nul_in_from_value(spoof_milter):
    """a NUL ends a milter string: what follows is never seen, so
    "ceo@example.org\\0..." is example.org and is rejected"""
    res = spoof_milter.send(raw(base_headers(
        "ceo@example.org\0attacker@example.com")), **SPOOF)
    rejected(res)


def test_nul_hiding_the_spoofed_domain(spoof_milter):
    """"attacker@example.com\\0, ceo@example.org": we see only the part
    before the NUL, as the MTA does (Postfix drops such a message or
    passes the same truncated string); never a pass for example.org"""
    res = spoof_milter.send(raw(base_headers(
        "attacker@example.com\0, ceo@example.org")), **SPOOF)
    assert res.step == "eom"
    if res.action == "replycode":
        rejected(res)
    else:
        assert dmarc_of(accepted_ar(res)) == ("pass", "example.com")


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\r\n"])
def test_bare_cr_lf_in_from_never_passes_org(spoof_milter, sep):
    """a bare CR or LF inside the From value (not valid folding): either
    the value is unusable (permerror, rejected as such) or the spoofed
    domain fails"""
    res = spoof_milter.send(raw(base_headers(
        "attacker@example.com" + sep + "From: ceo@example.org")), **SPOOF)
    s = spoof_milter.summary(res.qid)
    if s["dmarc"] == "permerror":
        unusable_rejected(spoof_milter, res)
    else:
        rejected(res)
        assert s["dmarc"] == "fail", s["line"]


def test_bare_lf_header_name_injection(spoof_milter):
    """a second From smuggled inside a Subject value: the Subject is not a
    From; the real From (example.org, spoofed) is rejected"""
    hdrs = base_headers("ceo@example.org")
    hdrs.append(("Subject", " hi\nFrom: attacker@example.com"))
    rejected(spoof_milter.send(raw(hdrs), **SPOOF))


# ------------------------------------------------------------- DKIM

def test_dkim_unrelated_domain_rejected(spoof_milter, keys):
    """a valid signature of example.com does not speak for example.org"""
    msg = sign(make_msg(from_="ceo@example.org"), "rsa", "example.com",
               keys.rsa_key)
    res = spoof_milter.send(msg, **SPOOF)
    rejected(res)
    s = spoof_milter.summary(res.qid)
    assert s["dkim"] == "pass:example.com" and s["dmarc"] == "fail", s["line"]


def l_signed(keys, body):
    """a message of example.org signed with l= (the body length)"""
    import dkim as dkimpy
    with open(keys.rsa_key, "rb") as f:
        key = f.read()
    msg = make_msg(from_="ceo@example.org", body=body)
    sig = dkimpy.sign(msg, b"rsa", b"example.org", key, length=True)
    return sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + msg


def test_dkim_l_tag_with_appended_content_rejected(spoof_milter, keys):
    """l= covers the original body; the attacker appends to it.  The
    signed part still verifies, but nobody vouches for the rest
    (RFC 6376 8.2): dkim=policy, no DMARC pass from it, p=reject"""
    spoofed = l_signed(keys, "signed part\r\n") + \
        b"APPENDED: click http://evil.example/\r\n"
    res = spoof_milter.send(spoofed, **SPOOF)
    rejected(res)
    s = spoof_milter.summary(res.qid)
    assert s["dkim"] == "policy:example.org", s["line"]


def test_dkim_l_tag_whole_body_passes(spoof_milter, keys):
    res = spoof_milter.send(l_signed(keys, "signed part\r\n"), **SPOOF)
    assert dmarc_of(accepted_ar(res)) == ("pass", "example.org")


def test_dkim_from_signed_once_present_twice_rejected(spoof_milter, keys):
    """example.com signs its own From; a second From (example.org) is
    added above it: the signed one still verifies, but the message has
    two authors and the spoofed one fails p=reject"""
    msg = sign(make_msg(from_="attacker@example.com"), "rsa", "example.com",
               keys.rsa_key, include_headers=["from", "to", "subject"])
    spoofed = b"From: ceo@example.org\r\n" + msg
    rejected(spoof_milter.send(spoofed, **SPOOF))


def test_dkim_genuine_signature_second_from_policy_applies(spoof_milter,
                                                          keys):
    """a genuine example.org signature (From signed once); the attacker
    adds a From of example.biz (p=quarantine) above it: example.org
    passes, example.biz fails, and the strictest outcome counts: dmarc
    fail under example.biz's quarantine"""
    msg = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
               keys.rsa_key, include_headers=["from", "to", "subject"])
    spoofed = b"From: boss@example.biz\r\n" + msg
    res = spoof_milter.send(spoofed, **SPOOF)
    s = spoof_milter.summary(res.qid)
    assert s["dmarc"] == "fail" and s["from"] == "example.biz,example.org" \
        and s["dmarc.domain"] == "example.biz", s["line"]


# ------------------------------------------------------------- A-R

@pytest.mark.parametrize("forged", [
    AUTHSERV_ID.upper() + "; dmarc=pass header.from=example.org",
    "Mx.AuthMilter.Example; dkim=pass header.d=example.org",
    '"MX.authmilter.EXAMPLE" (c); spf=pass smtp.mailfrom=ceo@example.org',
])
def test_forged_ar_other_case_removed(spoof_milter, forged):
    hdrs = [("Authentication-Results", " " + forged)] + \
        base_headers("user@example.org")
    res = spoof_milter.send(raw(hdrs), mailfrom="<user@example.org>",
                            client_addr=GOOD_IP, helo="mail.example.org")
    value = accepted_ar(res)
    delivered = res.apply(res.headers_sent)
    ars = [v for n, v in delivered if n.lower() == "authentication-results"]
    assert ars == [value], delivered


# ------------------------------------------------------------- client

def test_ipv4_mapped_ipv6_bad_client_rejected(spoof_milter):
    res = spoof_milter.send(make_msg(from_="ceo@example.org"),
                            mailfrom="<ceo@example.org>",
                            client_addr="::ffff:" + BAD_IP, family="6",
                            helo="mail.example.com")
    rejected(res)


def test_ipv4_mapped_ipv6_good_client_passes(spoof_milter):
    """RFC 7208 5: an IPv4-mapped IPv6 client is checked as IPv4"""
    res = spoof_milter.send(make_msg(from_="user@example.org"),
                            mailfrom="<user@example.org>",
                            client_addr="::ffff:" + GOOD_IP, family="6",
                            helo="mail.example.org")
    assert dmarc_of(accepted_ar(res)) == ("pass", "example.org")


def test_helo_ip_literal_null_sender_rejected(spoof_milter):
    """HELO [192.0.2.10] (GOOD_IP's literal) and MAIL FROM <>: no domain
    to check, so SPF cannot align with example.org: fail, reject"""
    res = spoof_milter.send(make_msg(from_="ceo@example.org"),
                            mailfrom="<>", client_addr=BAD_IP,
                            helo="[%s]" % GOOD_IP)
    rejected(res)
    s = spoof_milter.summary(res.qid)
    assert s["spf"] in ("none", "permerror"), s["line"]


# ------------------------------------------------------------- IDN

def test_idn_a_label_from_rejected(spoof_milter):
    res = spoof_milter.send(make_msg(from_="ceo@" + IDN_A), **SPOOF)
    rejected(res)


def test_idn_u_label_from_rejected(spoof_milter):
    """SMTPUTF8 (RFC 6532) From with a U-label: the same domain as its
    A-label (RFC 8616 section 4), so its p=reject applies"""
    res = spoof_milter.send(raw(base_headers("ceo@" + IDN_U)), **SPOOF)
    rejected(res)


def test_idn_u_label_from_aligned_passes(spoof_milter):
    res = spoof_milter.send(raw(base_headers("user@" + IDN_U)),
                            mailfrom="<user@%s>" % IDN_A, client_addr=GOOD_IP,
                            helo="mail.example.org")
    assert dmarc_of(accepted_ar(res))[0] == "pass"


@pytest.mark.parametrize("domain", [
    "\u0392\u0391\u039d\u039a.EXAMPLE",     # upper-case Greek: UTS #46 4
    "\u0392\u03b1\u039d\u03ba.Example",     # mixed case
])
def test_idn_uppercase_greek_from_rejected(spoof_milter, domain):
    """issue 15 defect 7: UTS #46 maps case before the A-label is made
    (RFC 5891 5.2), so an upper-case U-label spoof meets the p=reject of
    xn--mxabzl.example; before, it became xn--pwabzl: dmarc=none"""
    res = spoof_milter.send(raw(base_headers("ceo@" + domain)), **SPOOF)
    rejected(res)
    s = spoof_milter.summary(res.qid)
    assert s["dmarc"] == "fail", s["line"]


@pytest.mark.parametrize("domain", [
    "bu\u0308cher.example",                 # decomposed: NFC, RFC 5891 5.2
    "B\u00dcCHER.EXAMPLE",                  # Latin-1 capital
    "b\u00fccher\u3002example",             # ideographic full stop
    "b\u00fccher\uff0eexample",             # full-width full stop
    "b\u00ad\u00fccher.example",            # soft hyphen, mapped away
])
def test_idn_other_forms_from_rejected(spoof_milter, domain):
    """UTS #46 mapping and NFC: every form of b\u00fccher.example is
    xn--bcher-kva.example, so its p=reject applies"""
    res = spoof_milter.send(raw(base_headers("ceo@" + domain)), **SPOOF)
    rejected(res)
    assert spoof_milter.summary(res.qid)["dmarc"] == "fail"


@pytest.mark.parametrize("domain", [
    "xn--pwabzl.example",       # Punycode of upper-case Greek: no A-label
    "xn--bucher-xyd.example",   # Punycode of a non-NFC label
    "b\u00fccher\u2603.example",  # U+2603: disallowed (RFC 5892)
])
def test_idn_refused_domain_permerror(spoof_milter, domain):
    """a domain libidn2 refuses is no usable domain: dmarc=permerror
    ("unusable From header"), never none or pass, even when aligned;
    rejected as an unusable From"""
    res = spoof_milter.send(raw(base_headers("user@" + domain)),
                            mailfrom="<user@%s>" % GREEK_A,
                            client_addr=GOOD_IP, helo="mail.example.org")
    unusable_rejected(spoof_milter, res)


def test_uppercase_from_domain_rejected(spoof_milter):
    res = spoof_milter.send(make_msg(from_="ceo@EXAMPLE.ORG."), **SPOOF)
    rejected(res)
