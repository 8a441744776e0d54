#!/usr/bin/python3
"""arc_corpus.py - a generated ARC corpus judged by python3-dkim's
arc_verify, as lines for tests/conformance/arc_suite (issue 14).

Each case: a message (sometimes DKIM-signed by its author), then 1 to 5
hops, each adding an Authentication-Results of its own and an ARC set made
by dkimpy's ARC signer (rsa-sha256, 1024- or 2048-bit keys of three
sealers; ed25519-sha256, RFC 8463, for a fourth), with a random edit
between hops and sometimes after the last: a footer, a Subject tag, an
added header, whitespace a relaxed canonicalization ignores, a changed or
dropped ARC field, a changed instance, a key record removed.  dkimpy's
verdict (none / pass / fail) is the expected result.

Ed25519 and dkimpy 1.1.4: arc_sign() always seals with rsa-sha256 and
ARC.sign() reads PEM (RSA) keys only, although its field signing has the
Ed25519 branch; arc_verify() refuses a=ed25519-sha256 for ARC (its
ARC_HASH_ALGORITHMS is rsa-sha256 only).  So the Ed25519 sealer signs
through ARC.sign with its key read by python3-nacl, and arc_verify runs
with ed25519-sha256 added to the ARC algorithms (dkimpy's Ed25519
verification, the one its DKIM uses, does the rest).  See
tests/milter/arcseal.py, which does the same.

Usage: arc_corpus.py N SEED OUTDIR > cases.lines
"""
import os
import random
import subprocess
import sys
import urllib.parse

import dkim
import nacl.encoding
import nacl.signing

SEALERS = ["lists.example", "fwd.example", "gw.example", "ed.example"]
ED_SEALERS = {"ed.example"}
ED = b"ed25519-sha256"


class patched:
    """dkim.<name> = value while in the block"""
    def __init__(self, name, value):
        self.name, self.value = name, value

    def __enter__(self):
        self.old = getattr(dkim, self.name)
        setattr(dkim, self.name, self.value)

    def __exit__(self, *exc):
        setattr(dkim, self.name, self.old)


def ed_newkey():
    """(private key as base64 seed, key record) from python3-nacl"""
    import base64
    sk = nacl.signing.SigningKey.generate()
    return (sk.encode(nacl.encoding.Base64Encoder),
            "v=DKIM1; k=ed25519; p=" +
            base64.b64encode(sk.verify_key.encode()).decode())


def arc_sign(msg, d, key, srv, k):
    """one ARC set by dkimpy's ARC.sign (rsa-sha256, or ed25519-sha256
    for an ED_SEALERS domain)"""
    ed = d in ED_SEALERS
    arc = dkim.ARC(msg, signature_algorithm=ED if ed else b"rsa-sha256")
    args = (b"s", d.encode(), key, srv.encode())
    kw = dict(include_headers=[b"from", b"to", b"subject", b"date",
                               b"message-id"], timestamp=1765083600 + k)
    if not ed:
        return arc.sign(*args, **kw)
    with patched("parse_pem_private_key", lambda t: nacl.signing.SigningKey(
            t, encoder=nacl.encoding.Base64Encoder)):
        lines = arc.sign(*args, **kw)
    assert all(b"a=ed25519-sha256;" in x for x in lines[:2]), lines
    return lines


def arc_verify(msg, dnsfunc):
    """dkimpy's arc_verify, ed25519-sha256 accepted for ARC"""
    algs = dict(dkim.ARC_HASH_ALGORITHMS)
    algs[ED] = dkim.HASH_ALGORITHMS[ED]
    with patched("ARC_HASH_ALGORITHMS", algs):
        return dkim.arc_verify(msg, dnsfunc=dnsfunc)


def newkey(bits):
    """(private PEM, key record) from openssl"""
    pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                         input=pem, check=True, capture_output=True).stdout
    import base64
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def message(rnd, n):
    body = "".join("line %d of the body %s\r\n" % (i, "x " * rnd.randint(0, 5))
                   for i in range(rnd.randint(0, 6)))
    if rnd.random() < 0.2:
        body += "\r\n\r\n"              # trailing empty lines
    return ("From: Alice <alice@example.org>\r\n"
            "To: list@lists.example\r\n"
            "Subject: case %d\r\n"
            "Date: Mon, 07 Dec 2026 05:00:00 +0000\r\n"
            "Message-ID: <%d@example.org>\r\n\r\n%s" % (n, n, body)).encode()


def split(msg):
    h, _, b = msg.partition(b"\r\n\r\n")
    return h + b"\r\n", b


def edit(rnd, msg):
    """one random edit; returns (msg, what)"""
    h, b = split(msg)
    k = rnd.randrange(9)
    if k == 0:
        return msg, "none"
    if k == 1:
        return h + b"\r\n" + b + b"-- \r\nfooter\r\n", "footer"
    if k == 2:
        return h.replace(b"Subject: ", b"Subject: [list] ", 1) + b"\r\n" + b, \
            "subject tag"
    if k == 3:
        return b"X-Added: yes\r\n" + h + b"\r\n" + b, "added header"
    if k == 4:                      # relaxed ignores: trailing WSP in body
        return h + b"\r\n" + b.replace(b"\r\n", b" \r\n", 1), "body wsp"
    if k == 5 and b"ARC-Seal:" in h:
        return h.replace(b"cv=", b"cv= ", 1) + b"\r\n" + b, "AS wsp"
    if k == 6 and b"ARC-Message-Signature:" in h:
        return h.replace(b"h=", b"h=x-none:", 1) + b"\r\n" + b, "AMS h edited"
    if k == 7 and b"ARC-Authentication-Results:" in h:
        lines = h.split(b"\r\n")
        i = next(j for j, ln in enumerate(lines)
                 if ln.startswith(b"ARC-Authentication-Results:"))
        lines[i] = lines[i].replace(b";", b"; x=1;", 1)
        return b"\r\n".join(lines) + b"\r\n" + b, "AAR edited"
    if k == 8 and b"ARC-Seal:" in h:
        lines = h.split(b"\r\n")
        i = max(j for j, ln in enumerate(lines) if ln.startswith(b"ARC-Seal:"))
        j = i + 1
        while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
            j += 1
        del lines[i:j]
        return b"\r\n".join(lines) + b"\r\n" + b, "oldest AS dropped"
    return msg, "none"


def hop(rnd, msg, k, keys):
    d = rnd.choice(SEALERS)
    ar = "dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
    if k > 1:
        ar = "arc=pass; " + ar
    srv = "mx%d.%s" % (k, d)
    msg = ("Authentication-Results: %s; %s\r\n" % (srv, ar)).encode() + msg
    lines = arc_sign(msg, d, keys[d][0], srv, k)
    set_ = b"".join(x.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                    for x in lines)
    return set_ + msg


def main():
    n, seed, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rnd = random.Random(seed)
    keys = {d: ed_newkey() if d in ED_SEALERS else
            newkey(rnd.choice([1024, 2048])) for d in SEALERS}
    author = newkey(1024)
    for c in range(n):
        records = {"s._domainkey.%s" % d: keys[d][1] for d in SEALERS}
        records["a._domainkey.example.org"] = author[1]
        msg = message(rnd, c)
        if rnd.random() < 0.5:
            sig = dkim.sign(msg, b"a", b"example.org", author[0])
            msg = sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + msg
        what = []
        nhops = rnd.randint(1, 5)
        for k in range(1, nhops + 1):
            if k > 1 and rnd.random() < 0.5:
                msg, w = edit(rnd, msg)
                what.append(w)
            msg = hop(rnd, msg, k, keys)
        if rnd.random() < 0.3:
            msg, w = edit(rnd, msg)
            what.append("after: " + w)
        if rnd.random() < 0.05:
            del records["s._domainkey.%s" % rnd.choice(SEALERS)]
            what.append("a key removed")

        def dnsfunc(name, timeout=5):
            v = records.get(name.decode().rstrip("."))
            return v.encode() if v else None
        cv, _, _ = arc_verify(msg, dnsfunc)
        path = os.path.join(outdir, "arc%04d.eml" % c)
        with open(path, "wb") as f:
            f.write(msg.replace(b"\r\n", b"\n"))
        name = "arc%04d_%dhops_%s" % (c, nhops, "+".join(
            w.replace(" ", "-").replace(":", "") for w in what) or "clean")
        print("T %s %s" % (name, cv.decode().lower()))
        for k, v in records.items():
            print("K %s %s" % (k, urllib.parse.quote(v, safe="")))
        print("M %s" % path)
        print("E")


if __name__ == "__main__":
    main()
