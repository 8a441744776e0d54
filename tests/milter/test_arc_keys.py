"""ARC keys (issue 14), through the real daemon and nsd: Ed25519 chains
(RFC 8463 keys for ARC-Seal and ARC-Message-Signature, alone and mixed
with RSA), an ARC key whose look-up fails temporarily (SERVFAIL from a
FaultDNS proxy) under a trusted sealer, and the per-chain key limit
(AM_ARC_KEYS_MAX, 16 look-ups) at and one over the limit.

Chains are made by dkimpy (arcseal.py, which says how Ed25519 sets are
made with it) and judged by dkimpy too before they are sent, so a verdict
of ours is compared with an independent one.

Domains (conftest.zone_records plus the records of this module):
  example.org    p=reject, DKIM key rsa (the author)
  example.biz    p=quarantine (an author whose failure is delivered with
                 our header: the A-R is there to read)
  example.com    p=none (the key-limit chains: delivered, A-R read)
  lists.example  the list (trusted): ed (keys.ed), arc (keys.rsa), edx
                 (another Ed25519 key: a chain signed with keys.ed fails),
                 sf and sfams (keys.rsa; SERVFAIL through the proxy),
                 k01..k17 and m01..m17 (keys.rsa, one selector per hop),
                 a01..a09 / s01..s09 (keys.rsa: AMS / seal key per hop)
  fwd.example    a forwarder (trusted): ed, arc
"""

import os
import subprocess

import pytest

from arcseal import (AUTHOR_PASS, author_message, dkimpy_verdict, listed,
                     seal)
from conftest import (AUTHSERV_ID, DKNEWKEY, NsdServer, accepted_ar,
                      ar_entries, dmarc_comment, make_msg, rejected,
                      txt_rdata, zone_records)
from faultdns import FaultDNS

LIST_IP = "203.0.113.5"
LIST = dict(mailfrom="<list-bounces@lists.example>", client_addr=LIST_IP,
            helo="lists.example")
TRUST = [("ARCTrustedSealers", "lists.example, fwd.example")]
SF_KEY = "sf._domainkey.lists.example"
SF_AMS_KEY = "sfams._domainkey.lists.example"
ED = "ed25519-sha256"
RSA = "rsa-sha256"


@pytest.fixture(scope="module")
def ed_other(tmp_path_factory):
    """a second Ed25519 key pair: (private key file, TXT record text)"""
    d = str(tmp_path_factory.mktemp("arck-keys"))
    subprocess.run([DKNEWKEY, "--ktype", "ed25519", "edx"], cwd=d,
                   check=True, capture_output=True)
    with open(os.path.join(d, "edx.dns")) as f:
        return os.path.join(d, "edx.key"), f.read().strip()


@pytest.fixture(scope="module")
def records(keys, ed_other):
    """the ARC key records of this module, {owner: TXT text}"""
    r = {"ed._domainkey.lists.example": keys.ed_txt,
         "arc._domainkey.lists.example": keys.rsa_txt,
         "edx._domainkey.lists.example": ed_other[1],
         SF_KEY: keys.rsa_txt,
         SF_AMS_KEY: keys.rsa_txt,
         "ed._domainkey.fwd.example": keys.ed_txt,
         "arc._domainkey.fwd.example": keys.rsa_txt}
    for k in range(1, 18):
        r["k%02d._domainkey.lists.example" % k] = keys.rsa_txt
        r["m%02d._domainkey.lists.example" % k] = keys.rsa_txt
    for k in range(1, 10):
        r["a%02d._domainkey.lists.example" % k] = keys.rsa_txt
        r["s%02d._domainkey.lists.example" % k] = keys.rsa_txt
    return r


@pytest.fixture(scope="module")
def arck_dns(keys, records, tmp_path_factory):
    """nsd with the test zone and these keys; a proxy that SERVFAILs sf."""
    extra = [("lists.example", "TXT",
              txt_rdata("v=spf1 ip4:%s -all" % LIST_IP))]
    extra += [(o, "TXT", txt_rdata(t)) for o, t in records.items()]
    server = NsdServer(str(tmp_path_factory.mktemp("nsd-arck")),
                       zone_records(keys) + extra)
    server.start()
    proxy = FaultDNS(server.port, {SF_KEY: "servfail",
                                   SF_AMS_KEY: "servfail"})
    yield server, proxy
    proxy.close()
    server.stop()


@pytest.fixture(scope="module")
def trusting(milters, arck_dns):
    return milters.get("arck-trust", overrides=TRUST,
                       nameservers="127.0.0.1@%d" % arck_dns[0].port)


@pytest.fixture(scope="module")
def plain(milters, arck_dns):
    return milters.get("arck-plain",
                       nameservers="127.0.0.1@%d" % arck_dns[0].port)


@pytest.fixture(scope="module")
def faulty(milters, arck_dns):
    """trusting, its DNS through the proxy"""
    return milters.get("arck-trust-sf", overrides=TRUST,
                       nameservers=arck_dns[1].spec)


def results(value):
    """{method: (result, props, reason)} of our A-R (python3-authres)"""
    h, got = ar_entries(value)
    assert h.authserv_id == AUTHSERV_ID
    return {g[0]: (g[1], g[2], g[3]) for g in got}


def list_sealed(keys, alg=ED, selector="ed", keyfile=None):
    """example.org's message through the list, sealed by lists.example"""
    keyfile = keyfile or (keys.ed_key if alg == ED else keys.rsa_key)
    return seal(listed(author_message(keys)), "lists.example", keyfile,
                AUTHOR_PASS, selector=selector, alg=alg)


def forwarded(msg, keys, alg):
    """hop 2: fwd.example (trusted, saw no aligned pass) seals again"""
    return seal(msg, "fwd.example", keys.ed_key if alg == ED else keys.rsa_key,
                "arc=pass; dkim=fail header.d=example.org",
                srv_id="mx.fwd.example", selector="ed" if alg == ED else "arc",
                alg=alg, k=2)


def assert_overridden(m, res, by="sealer lists.example i=1"):
    """delivered: arc=pass, dmarc=fail kept with override=trusted_forwarder"""
    ar = accepted_ar(res)
    r = results(ar)
    assert r["arc"][0] == "pass", ar
    assert r["dmarc"][0] == "fail", ar
    assert "override=trusted_forwarder" in ar, ar
    s = m.summary(res.qid)
    assert s["arc"] == "pass", s["line"]
    assert s["dmarc.override"] == "trusted_forwarder", s["line"]
    assert s["dmarc.override_by"] == by, s["line"]


# ---------------------------------------------------------------- Ed25519

def test_ed25519_one_hop(trusting, keys, records):
    """one Ed25519 set (AS and AMS a=ed25519-sha256, k=ed25519 key):
    arc=pass, and the trusted list's word is taken"""
    msg = list_sealed(keys)
    assert dkimpy_verdict(msg, records)[0] == "pass"
    assert_overridden(trusting, trusting.send(msg, **LIST))


def test_ed25519_two_hops(trusting, keys, records):
    """two Ed25519 hops (list, then forwarder): arc=pass, the override
    walks down to hop 1, whose AAR has the aligned pass"""
    msg = forwarded(list_sealed(keys), keys, ED)
    assert dkimpy_verdict(msg, records)[0] == "pass"
    assert_overridden(trusting, trusting.send(msg, **LIST))


@pytest.mark.parametrize("first,second", [(RSA, ED), (ED, RSA)],
                         ids=["rsa-then-ed25519", "ed25519-then-rsa"])
def test_mixed_chain(trusting, keys, records, first, second):
    """an RSA hop and an Ed25519 hop in one chain, either order: pass"""
    msg = forwarded(list_sealed(keys, alg=first,
                                selector="ed" if first == ED else "arc"),
                    keys, second)
    assert dkimpy_verdict(msg, records)[0] == "pass"
    assert_overridden(trusting, trusting.send(msg, **LIST))


def _tamper(keys, ed_other, how):
    if how == "wrong key":      # edx publishes ed_other's public key
        return list_sealed(keys, selector="edx"), "signature did not verify"
    msg = list_sealed(keys)
    if how == "AAR edited":     # only the ARC-Seal covers the AAR
        return msg.replace(b"header.from=example.org",
                           b"header.from=example.org x=1", 1), \
            "ARC-Seal i=1: signature did not verify"
    if how == "Subject edited":     # signed by the AMS (h=)
        return msg.replace(b"Subject: hello", b"Subject: [list] hello", 1), \
            "ARC-Message-Signature i=1: signature did not verify"
    return msg + b"appended\r\n", "body hash mismatch"


@pytest.mark.parametrize("how", ["wrong key", "AAR edited",
                                 "Subject edited", "body"])
def test_ed25519_tampered_fails(trusting, keys, records, ed_other, how):
    """a tampered Ed25519 chain (or one sealed with another key): arc=fail
    with the reason, and no override: p=reject is enforced"""
    msg, why = _tamper(keys, ed_other, how)
    assert dkimpy_verdict(msg, records)[0] == "fail"
    res = trusting.send(msg, **LIST)
    rejected(res)
    s = trusting.summary(res.qid)
    assert s["arc"] == "fail" and why in s["arc.reason"], s["line"]
    assert "dmarc.override" not in s, s["line"]


# ---------------------------------------------------------------- SERVFAIL

def sf_sealed(keys, from_="alice@example.org"):
    """a chain that passes when its key (selector sf) can be fetched"""
    dom = from_.split("@")[1]
    author = author_message(keys, from_) if dom == "example.org" else \
        make_msg(from_=from_, subject="hello")
    return seal(listed(author), "lists.example", keys.rsa_key,
                "dmarc=pass header.from=%s" % dom, selector="sf", alg=RSA)


def test_servfail_key_no_override(trusting, faulty, plain, keys, records,
                                  arck_dns):
    """the chain passes and its sealer is trusted (the daemon asking nsd
    directly overrides p=reject); when the key look-up SERVFAILs the chain
    is not verified: arc=fail (RFC 8617 has no temperror for arc), the log
    says the look-up failed temporarily, no override, and the verdict is
    DMARC's alone (rejected, as without any trusted sealer)"""
    msg = sf_sealed(keys)
    assert dkimpy_verdict(msg, records)[0] == "pass"
    assert_overridden(trusting, trusting.send(msg, **LIST))
    rejected(plain.send(msg, **LIST))       # DMARC alone: p=reject
    res = faulty.send(msg, **LIST)
    rejected(res)
    s = faulty.summary(res.qid)
    assert s["arc"] == "fail", s["line"]
    assert "key look-up failed (temporary)" in s["arc.reason"], s["line"]
    assert SF_KEY in s["arc.reason"], s["line"]
    assert s["dmarc"] == "fail" and s["action"] == "reject", s["line"]
    assert "dmarc.override" not in s, s["line"]
    assert any(n == SF_KEY and f == "servfail"
               for _, n, f in arck_dns[1].seen), arck_dns[1].seen


def test_servfail_key_header_says_why(trusting, faulty, plain, keys):
    """the same under p=quarantine (delivered with our header): the A-R
    has arc=fail with the reason, and its dmarc entry is exactly what the
    daemon without trusted sealers writes (no override=)"""
    msg = sf_sealed(keys, "alice@example.biz")
    assert_overridden(trusting, trusting.send(msg, **LIST))
    alone = dmarc_comment(accepted_ar(plain.send(msg, **LIST)))
    ar = accepted_ar(faulty.send(msg, **LIST))
    r = results(ar)
    assert r["arc"][0] == "fail", ar
    assert "key look-up failed (temporary)" in r["arc"][2], ar
    assert r["dmarc"][0] == "fail", ar
    assert "override" not in ar, ar
    assert dmarc_comment(ar) == alone, (ar, alone)


# ---------------------------------------------------------------- key limit

def chain(keys, n, sel, ams_sel=None):
    """n hops of lists.example, hop k with a selector of its own (sel, k):
    n distinct keys to look up; with ams_sel the AMS of hop k has its own
    (ams_sel, k): 2n keys"""
    msg = listed(author_message(keys, "alice@example.com"))
    for k in range(1, n + 1):
        ar = "dmarc=pass header.from=example.com" if k == 1 else "arc=pass"
        msg = seal(msg, "lists.example", keys.rsa_key, ar,
                   srv_id="mx%d.lists.example" % k, selector=sel % k, k=k,
                   ams_selector=ams_sel % k if ams_sel else None)
    return msg


def test_key_limit_sixteen_pass(plain, keys, records):
    """16 hops, 16 distinct keys (AM_ARC_KEYS_MAX): every one is fetched,
    arc=pass"""
    msg = chain(keys, 16, "k%02d")
    assert dkimpy_verdict(msg, records)[0] == "pass"
    ar = accepted_ar(plain.send(msg, **LIST))
    r = results(ar)
    assert r["arc"][0] == "pass", ar
    assert "header.oldest-pass" not in r["arc"][1], ar


def test_key_limit_seventeen_fail(faulty, keys, records, arck_dns):
    """17 hops, 17 distinct keys: the 17th is not looked up, arc=fail
    "too many keys in one chain" (README Limits), although dkimpy (no such
    limit) passes the chain; 16 key names went out to DNS"""
    msg = chain(keys, 17, "m%02d")
    assert dkimpy_verdict(msg, records)[0] == "pass"
    ar = accepted_ar(faulty.send(msg, **LIST))
    r = results(ar)
    assert r["arc"][0] == "fail", ar
    assert "too many keys in one chain" in r["arc"][2], ar
    # AMS i=1 was never checked (its key is the 17th): no claim about it
    assert "header.oldest-pass" not in r["arc"][1], ar
    asked = {n for _, n, _ in arck_dns[1].seen
             if n.startswith("m") and n.endswith("._domainkey.lists.example")}
    assert len(asked) == 16, sorted(asked)


def test_key_limit_counts_the_verdict_first(plain, keys, records):
    """9 hops whose AMS and seal keys differ (a0k / s0k): 18 keys, of which
    the verdict needs 10 (the newest AMS and the 9 seals, RFC 8617 5.2);
    the older AMS (header.oldest-pass only, optional) must not spend the
    limit before the seals: arc=pass, oldest-pass not claimed"""
    msg = chain(keys, 9, "s%02d", "a%02d")
    assert b"s=a09;" in msg and b"s=s09;" in msg
    assert dkimpy_verdict(msg, records)[0] == "pass"
    ar = accepted_ar(plain.send(msg, **LIST))
    r = results(ar)
    assert r["arc"][0] == "pass", ar
    assert "header.oldest-pass" not in r["arc"][1], ar


def test_servfail_older_ams_key_not_a_failure(trusting, faulty, keys,
                                              records):
    """hop 1's AMS key (sfams) SERVFAILs, its seal key does not: the chain
    is verified (newest AMS and every seal, RFC 8617 5.2) and passes, as
    through nsd directly; AMS i=1 could not be checked, so no
    header.oldest-pass claims it failed"""
    first = seal(listed(author_message(keys)), "lists.example",
                 keys.rsa_key, AUTHOR_PASS, ams_selector="sfams")
    msg = seal(first, "lists.example", keys.rsa_key,
               "arc=pass; dmarc=fail header.from=example.org",
               srv_id="mx2.lists.example", k=2)
    assert dkimpy_verdict(msg, records)[0] == "pass"
    res = trusting.send(msg, **LIST)
    assert_overridden(trusting, res)
    r = results(accepted_ar(res))
    assert "header.oldest-pass" not in r["arc"][1], r     # AMS 1 verifies
    res = faulty.send(msg, **LIST)
    assert_overridden(faulty, res)
    r = results(accepted_ar(res))
    assert "header.oldest-pass" not in r["arc"][1], r
