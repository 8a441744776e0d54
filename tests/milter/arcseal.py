"""ARC sets for the milter tests, made by python3-dkim (dkimpy, an
independent implementation), in rsa-sha256 or ed25519-sha256 (RFC 8463),
and dkimpy's own verdict on a chain as a check of the test data.

dkimpy 1.1.4 and Ed25519 ARC (issue 14):
  - dkim.arc_sign() ignores its signature_algorithm argument: it builds
    ARC(..., signature_algorithm=b'rsa-sha256') whatever it is given, so
    arc_sign(..., signature_algorithm=b'ed25519-sha256') seals with RSA
    (and an ed25519 key is refused: "Private key not found");
  - ARC.sign() reads its key with parse_pem_private_key (RSA PEM only),
    although its gen_header() has the ed25519 branch (the key signs the
    SHA-256 of the canonicalized header data, RFC 8463 3);
  - arc_verify() refuses a=ed25519-sha256 ("unknown signature algorithm"):
    its ARC_HASH_ALGORITHMS lists rsa-sha256 only.
So an Ed25519 set is made by dkimpy's ARC.sign (its canonicalization,
field assembly and hashing) with the key read by python3-nacl instead of
the PEM parser; and dkimpy's arc_verify judges a chain with ed25519-sha256
added to the algorithms it accepts for ARC (its DKIM verification of
Ed25519 keys and signatures is used as is).
"""

import contextlib

import dkim
import nacl.encoding
import nacl.signing

from conftest import make_msg, sign

SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
T0 = 1764000000

AUTHOR_PASS = ("spf=pass smtp.mailfrom=alice@example.org;\r\n "
               "dkim=pass header.d=example.org header.s=rsa;\r\n "
               "dmarc=pass header.from=example.org")


def _ed25519_key(text):
    """a dknewkey ed25519 private key (base64 of the 32-byte seed)"""
    return nacl.signing.SigningKey(text.strip(),
                                   encoder=nacl.encoding.Base64Encoder)


@contextlib.contextmanager
def _patched(name, value):
    old = getattr(dkim, name)
    setattr(dkim, name, value)
    try:
        yield
    finally:
        setattr(dkim, name, old)


def _ams_selector(arc, selector):
    """dkimpy's ARC.sign gives the AMS and the ARC-Seal one selector; a
    sealer may use two keys: the AMS's s= is changed before dkimpy
    assembles and signs that field (gen_header), so the AMS is signed
    with s=selector in it and the seal covers it as it is"""
    gen = arc.gen_header

    def gen_header(fields, include_headers, canon_policy, name, pk,
                   standardize=False):
        if name == b"ARC-Message-Signature":
            fields = [(t, selector.encode() if t == b"s" else v)
                      for t, v in fields]
        return gen(fields, include_headers, canon_policy, name, pk,
                   standardize)
    arc.gen_header = gen_header


def seal(msg, domain, keyfile, ar, srv_id=None, selector="arc",
         alg="rsa-sha256", k=1, ams_selector=None):
    """one ARC set by dkimpy: the sealer's A-R (ar, under authserv-id
    srv_id, default domain) becomes the AAR (dkimpy joins every A-R of
    that id: a later hop needs an id of its own); returns the message with
    the set (and that A-R) on top.  k: the hop, for the timestamp;
    ams_selector: the AMS's own selector (default: selector), for a sealer
    whose AMS key is not its seal key (both keyfile's key)."""
    srv_id = srv_id or domain
    msg = ("Authentication-Results: %s;\r\n %s\r\n" % (srv_id, ar)).encode() \
        + msg
    with open(keyfile, "rb") as f:
        key = f.read()
    arc = dkim.ARC(msg, signature_algorithm=alg.encode())
    if ams_selector is not None:
        _ams_selector(arc, ams_selector)
    args = (selector.encode(), domain.encode(), key, srv_id.encode())
    kw = dict(include_headers=SIGNED, timestamp=T0 + k)
    if alg == "ed25519-sha256":
        with _patched("parse_pem_private_key", _ed25519_key):
            lines = arc.sign(*args, **kw)
    else:
        lines = arc.sign(*args, **kw)
    assert len(lines) == 3, lines
    # the sets really are of alg (dkimpy's arc_sign would silently be RSA)
    assert all(b"a=%s;" % alg.encode() in x for x in lines[:2]), lines
    out = b"".join(x.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                   for x in lines)
    return out + msg


def dkimpy_verdict(msg, records):
    """dkimpy's arc_verify of msg ('pass', 'fail', 'none'), keys from
    records {owner: TXT text}, ed25519-sha256 accepted for ARC"""
    def dnsfunc(name, timeout=5):
        v = records.get(name.decode().rstrip(".").lower())
        return v.encode() if v else None
    algs = dict(dkim.ARC_HASH_ALGORITHMS)
    algs[b"ed25519-sha256"] = dkim.HASH_ALGORITHMS[b"ed25519-sha256"]
    with _patched("ARC_HASH_ALGORITHMS", algs):
        cv, _, why = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    return cv.decode().lower(), why


def author_message(keys, from_="alice@example.org"):
    """the author's message, DKIM-signed (rsa) by its domain"""
    dom = from_.split("@")[1]
    return sign(make_msg(from_=from_, subject="hello"), "rsa", dom,
                keys.rsa_key)


def listed(msg):
    """what a list does: a footer, which breaks the author's DKIM"""
    return msg + b"-- \r\nlist footer: unsubscribe at lists.example\r\n"
