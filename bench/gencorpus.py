#!/usr/bin/python3
"""gencorpus.py - deterministic benchmark corpus for authmilter's bench.

    /usr/bin/python3 bench/gencorpus.py OUTDIR [-n COUNT] [-s SEED] [-d DOMAINS]
        [-t TAG] [--fresh] [-k KEYS] [--arc PERCENT]

Cold-DNS runs (scripts/bench -C) use -t RUNTAG --fresh -k 4: every message
has two domains of its own, named with a tag new to every run, so no answer
is in any cache; four key pairs are shared to keep generation quick.

Writes, for a given seed, byte-identical output:
  OUTDIR/root.zone   one root zone for nsd: per sender domain an SPF record
                     (ip4 / a / mx / include / redirect), a DMARC record
                     (p=none / quarantine / reject, or none at all), and DKIM
                     keys (rsa-2048 selector "r1", ed25519 selector "e1")
  OUTDIR/msgs/N.eml  messages, CRLF lines, 2-200 KB (log-normal, median
                     ~15 KB), signed by dkimpy (python3-dkim), an
                     implementation independent of libopendkim
  OUTDIR/reverse.zone  the zone in-addr.arpa. (issue 14, iprev): PTR
                     records for the client addresses of the sender and
                     sealer domains; most name a host whose A record is
                     the address (iprev=pass), every 10th domain + 3 names
                     another domain's host, every 10th + 7 a dynamic-looking
                     name without an A record (iprev=fail); the 203.0.113.x
                     clients (SPF failures) have no PTR (iprev=fail)
  OUTDIR/arc-trusted the sealer domains for ARCTrustedSealers (one a line)
  OUTDIR/index.tsv   one line per message:
                     file  client-ip  helo  mail-from  rcpt  expected  extra
                     expected = "spf=R dkim=R[,R...] dmarc=R action=A"
                     (dkim results sorted; "none" for an unsigned message;
                     action accept / quarantine / reject)
                     extra = "arc=R iprev=R" (arc none / pass / fail: what
                     authmilter must find; mload -V checks them)

Keys are derived from the seed too (RSA primes from a seeded PRNG, ed25519
seeds from it), so nothing depends on the system's randomness.  They are
benchmark keys: never use them for anything else.

Message kinds (the mix is in KINDS): aligned rsa or ed25519 signature;
two signatures (author + a third-party "ESP" domain, or rsa + ed25519);
a broken body (changed after signing); a broken signed header; unsigned;
signed by an unaligned third party only; SPF from an unauthorised address.
The expected verdict follows RFC 7208 / 6376 / 9989 with every domain an
organizational domain of its own (domNN.example), so alignment is identity.

ARC (issue 14; --arc PERCENT, default 10, 0 for none): that share of the
messages (decided by an RNG of its own, so the other messages are those of
--arc 0) is mail from a sender domain, DKIM-signed by it, that reached the
bench through one or two ARC intermediaries (SEALERS, RFC 8617 sealed by
dkimpy's arc_sign with rsa-sha256 keys in the zone, selector "arc1"); each
intermediary records what it saw in an Authentication-Results header that
arc_sign copies into its ARC-Authentication-Results, and relays from its
own address with a MAIL FROM of its own domain.  Kinds (ARC_KINDS): a list
adding a footer (DKIM broken, ARC pass) by a trusted or an untrusted
sealer, a plain forward (DKIM and ARC pass), list then forwarder (two
hops), and a footer added after the seal (ARC fail).  The action follows
the ARCTrustedSealers rule (README "ARC"): a DMARC fail is not enforced
(as p=none) when the chain passes and every sealer from the newest hop
down to the one whose AAR shows the From domain's DKIM pass is trusted.
"""

import argparse
import base64
import math
import os
import random
import sys

import dkim
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TTL = 3600
SIGN_TIME = 1764000000      # t= of every signature (fixed: deterministic)
SMALL_PRIMES = [p for p in range(3, 2000)
                if all(p % q for q in range(2, int(p ** 0.5) + 1))]

# (name, weight)
KINDS = [
    ("rsa", 30), ("ed", 12), ("multi-esp", 8), ("multi-alg", 6),
    ("broken-body", 8), ("broken-header", 5), ("unsigned", 14),
    ("thirdparty", 9), ("spf-fail-signed", 4), ("spf-fail-unsigned", 4),
]

# ARC intermediaries: (domain, address, trusted by the bench's
# ARCTrustedSealers, modifies the message it relays)
SEALERS = [
    ("arclist.example", "198.51.100.1", True, True),
    ("arcfwd.example", "198.51.100.2", True, False),
    ("arcesp.example", "198.51.100.3", False, True),
]
# (name, weight, hops as indexes into SEALERS, footer after the last seal)
ARC_KINDS = [
    ("arc-list", 4, [0], False), ("arc-list-untrusted", 2, [2], False),
    ("arc-fwd", 2, [1], False), ("arc-2hop", 1, [0, 1], False),
    ("arc-broken", 1, [0], True),
]
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id",
                  b"mime-version", b"content-type"]

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
         "eiusmod tempor incididunt ut labore et dolore magna aliqua enim "
         "minim veniam quis nostrud exercitation ullamco laboris nisi "
         "aliquip commodo consequat duis aute irure reprehenderit "
         "voluptate velit esse cillum fugiat nulla pariatur").split()


# ------------------------------------------------------------ seeded keys

def is_probable_prime(n, rng):
    for p in SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(24):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def seeded_prime(rng, bits):
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (c - 1) % 65537 and is_probable_prime(c, rng):
            return c


def seeded_rsa(rng, bits=2048):
    """(PEM private key bytes, base64 SubjectPublicKeyInfo) from rng"""
    e = 65537
    while True:
        p = seeded_prime(rng, bits // 2)
        q = seeded_prime(rng, bits // 2)
        if p != q and (p * q).bit_length() == bits:
            break
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    priv = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
        rsa.RSAPublicNumbers(e, p * q)).private_key()
    pem = priv.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    spki = priv.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(spki).decode()


def seeded_ed25519(rng):
    """(dkimpy private key: base64 seed, base64 public key) from rng"""
    seed = bytes(rng.getrandbits(8) for _ in range(32))
    sk = nacl.signing.SigningKey(seed)
    return base64.b64encode(seed), \
        base64.b64encode(bytes(sk.verify_key)).decode()


def txt_rdata(text):
    raw = text.encode()
    parts = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return " ".join('"%s"' % p.decode() for p in parts)


# ------------------------------------------------------------ domains

def dom_name(i, tag):
    return "dom%02d%s.example" % (i, "-" + tag if tag else "")


def dom_ip(i):
    """TEST-NET-1 for the first 200, then the benchmark range (RFC 2544)"""
    if i < 200:
        return "192.0.2.%d" % (i + 1)
    return "198.18.%d.%d" % ((i - 200) // 250, (i - 200) % 250 + 1)


class Domain:
    def __init__(self, i, rng, ndomains, tag="", fresh=False):
        self.i = i
        self.name = dom_name(i, tag)
        self.ip = dom_ip(i)
        self.spf_kind = ["ip4", "a", "mx", "include", "redirect"][i % 5]
        self.dmarc = [None, "none", "quarantine", "reject",
                      "reject", "quarantine", "none", "reject"][i % 8]
        self.rsa = None
        self.ed = None
        # --fresh: a message's two domains include each other only
        self.include_of = dom_name(i ^ 1 if fresh else (i + 1) % ndomains,
                                   tag)

    def authorised_ips(self, by_name):
        """the client addresses this domain's SPF record passes"""
        if self.spf_kind == "include":       # _spf.<other>: its ip4 only
            return {self.ip, by_name[self.include_of].ip}
        return {self.ip}

    def records(self):
        n = self.name
        recs = [("mail." + n, "A", self.ip)]
        if self.spf_kind == "ip4":
            spf = "v=spf1 ip4:%s -all" % self.ip
        elif self.spf_kind == "a":
            recs.append(("out." + n, "A", self.ip))
            spf = "v=spf1 a:out.%s -all" % n
        elif self.spf_kind == "mx":
            recs.append((n, "MX", "10 mx1.%s." % n))
            recs.append(("mx1." + n, "A", self.ip))
            spf = "v=spf1 mx -all"
        elif self.spf_kind == "include":
            spf = "v=spf1 ip4:%s include:_spf.%s ~all" % (self.ip,
                                                          self.include_of)
        else:
            spf = "v=spf1 redirect=_spf.%s" % n
        recs.append((n, "TXT", txt_rdata(spf)))
        # every domain publishes _spf.<d> (used by includes and redirects)
        recs.append(("_spf." + n, "TXT",
                     txt_rdata("v=spf1 ip4:%s -all" % self.ip)))
        if self.dmarc is not None:
            recs.append(("_dmarc." + n, "TXT", txt_rdata(
                "v=DMARC1; p=%s; rua=mailto:dmarc@%s" % (self.dmarc, n))))
        recs.append(("r1._domainkey." + n, "TXT",
                     txt_rdata("v=DKIM1; k=rsa; p=" + self.rsa[1])))
        recs.append(("e1._domainkey." + n, "TXT",
                     txt_rdata("v=DKIM1; k=ed25519; p=" + self.ed[1])))
        return recs


def spf_result(dom, ip, by_name):
    if ip in dom.authorised_ips(by_name):
        return "pass"
    if dom.spf_kind == "include":
        return "softfail"
    return "fail"


def dmarc_verdict(from_dom, mailfrom_dom, spf, dkim_sigs):
    """(dmarc result, action); dkim_sigs = [(d, result)]"""
    if from_dom.dmarc is None:
        return "none", "accept"
    aligned = (spf == "pass" and mailfrom_dom is from_dom) or any(
        d == from_dom.name and r == "pass" for d, r in dkim_sigs)
    if aligned:
        return "pass", "accept"
    return "fail", {"none": "accept", "quarantine": "quarantine",
                    "reject": "reject"}[from_dom.dmarc]


# ------------------------------------------------------------ messages

def body_text(rng, size):
    lines = []
    total = 0
    while total < size:
        n = rng.randint(6, 14)
        line = " ".join(rng.choice(WORDS) for _ in range(n))
        if rng.random() < 0.05:
            line = ""
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def message_size(rng):
    s = int(math.exp(rng.gauss(math.log(15000), 0.85)))
    return max(2000, min(200000, s))


def build_message(rng, idx, from_dom, size):
    user = "user%d" % rng.randint(1, 999)
    hdrs = [
        ("Received", "from mail.%s (mail.%s [%s])\r\n\tby mx.bench.example "
         "with ESMTPS id B%06d; Tue, 24 Nov 2026 12:00:00 +0000"
         % (from_dom.name, from_dom.name, from_dom.ip, idx)),
        ("From", "\"User %d\" <%s@%s>" % (idx, user, from_dom.name)),
        ("To", "rcpt%d@bench-rcpt.example" % (idx % 37)),
        ("Subject", "benchmark message %d %s" % (idx, rng.choice(WORDS))),
        ("Date", "Tue, 24 Nov 2026 12:%02d:%02d +0000" % (idx // 60 % 60,
                                                          idx % 60)),
        ("Message-ID", "<bench.%d.%d@%s>" % (idx, rng.randint(0, 10 ** 9),
                                             from_dom.name)),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=us-ascii"),
    ]
    head = "".join("%s: %s\r\n" % h for h in hdrs)
    return (head + "\r\n").encode(), body_text(rng, max(200, size - len(head)))


def do_sign(msg, dom, alg, canon):
    if alg == "rsa":
        sel, key, sa = b"r1", dom.rsa[0], b"rsa-sha256"
    else:
        sel, key, sa = b"e1", dom.ed[0], b"ed25519-sha256"
    sig = dkim.sign(msg, sel, dom.name.encode(), key,
                    canonicalize=canon, signature_algorithm=sa,
                    include_headers=SIGNED_HEADERS)
    return crlf(sig) + msg


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def pick_kind(rng):
    total = sum(w for _, w in KINDS)
    r = rng.uniform(0, total)
    for name, w in KINDS:
        r -= w
        if r <= 0:
            return name
    return KINDS[-1][0]


def make_one(rng, idx, domains, by_name, fresh=False):
    kind = pick_kind(rng)
    if fresh:       # two domains of its own: nothing a resolver saw before
        from_dom, other = domains[2 * idx], domains[2 * idx + 1]
    else:
        from_dom = rng.choice(domains)
        other = rng.choice([d for d in domains if d is not from_dom])
    head, body = build_message(rng, idx, from_dom, message_size(rng))
    msg = head + body.encode()
    canon = rng.choice([(b"relaxed", b"relaxed"), (b"relaxed", b"simple"),
                        (b"simple", b"simple")])
    sigs = []                       # (domain, expected result)
    mailfrom_dom, ip = from_dom, from_dom.ip
    if kind in ("rsa", "ed", "broken-body", "broken-header",
                "spf-fail-signed"):
        alg = "ed" if kind == "ed" else rng.choice(["rsa", "rsa", "ed"])
        msg = do_sign(msg, from_dom, alg, canon)
        sigs.append((from_dom.name, "pass"))
    elif kind == "multi-esp":
        msg = do_sign(msg, from_dom, "rsa", canon)
        msg = do_sign(msg, other, rng.choice(["rsa", "ed"]), canon)
        sigs += [(from_dom.name, "pass"), (other.name, "pass")]
    elif kind == "multi-alg":
        msg = do_sign(msg, from_dom, "rsa", canon)
        msg = do_sign(msg, from_dom, "ed", canon)
        sigs += [(from_dom.name, "pass"), (from_dom.name, "pass")]
    elif kind == "thirdparty":
        msg = do_sign(msg, other, rng.choice(["rsa", "ed"]), canon)
        sigs.append((other.name, "pass"))
        mailfrom_dom, ip = other, other.ip
    if kind == "broken-body":
        msg += b"appended by a mailing list footer\r\n"
        sigs = [(d, "fail") for d, _ in sigs]
    elif kind == "broken-header":
        msg = msg.replace(b"Subject: benchmark", b"Subject: [list] benchmark",
                          1)
        sigs = [(d, "fail") for d, _ in sigs]
    if kind.startswith("spf-fail"):
        ip = "203.0.113.%d" % rng.randint(1, 254)
    if kind == "unsigned" and rng.random() < 0.3:
        ip = "203.0.113.%d" % rng.randint(1, 254)
    spf = spf_result(mailfrom_dom, ip, by_name)
    dmarc, action = dmarc_verdict(from_dom, mailfrom_dom, spf, sigs)
    dk = ",".join(sorted(r for _, r in sigs)) or "none"
    expected = "spf=%s dkim=%s dmarc=%s action=%s" % (spf, dk, dmarc, action)
    envelope = (ip, "mail." + mailfrom_dom.name,
                "bounce%d@%s" % (idx, mailfrom_dom.name),
                "rcpt%d@bench-rcpt.example" % (idx % 37))
    return msg, envelope, expected, kind


def pick_weighted(rng, kinds):
    total = sum(k[1] for k in kinds)
    r = rng.uniform(0, total)
    for k in kinds:
        r -= k[1]
        if r <= 0:
            return k
    return kinds[-1]


class Sealer:
    """an ARC intermediary (SEALERS): relays from ip with MAIL FROM in its
    own domain (SPF passes), seals with selector arc1"""
    def __init__(self, name, ip, trusted, modifies, keyrng):
        self.name, self.ip = name, ip
        self.trusted, self.modifies = trusted, modifies
        self.rsa = seeded_rsa(keyrng)

    def records(self):
        n = self.name
        return [("mail." + n, "A", self.ip),
                (n, "TXT", txt_rdata("v=spf1 ip4:%s -all" % self.ip)),
                ("arc1._domainkey." + n, "TXT",
                 txt_rdata("v=DKIM1; k=rsa; p=" + self.rsa[1]))]


def arc_hop(msg, s, saw, n, footer):
    """what intermediary s does with msg: records what it saw (saw =
    [(method, result, property)]) in an A-R of its own (arc_sign copies
    it into the AAR; arc= gives the seal's cv), changes the body if it is
    a list, seals (RFC 8617 5.1)"""
    srv = "mx." + s.name
    res = ["%s=%s %s" % m for m in saw]
    if n > 0:
        res.append("arc=pass")
    ar = "Authentication-Results: %s;\r\n\t%s\r\n" % (srv,
                                                     ";\r\n\t".join(res))
    msg = ar.encode() + msg
    if footer:
        msg += footer
    sets = dkim.arc_sign(msg, b"arc1", s.name.encode(), s.rsa[0],
                         srv.encode(), include_headers=SIGNED_HEADERS)
    if len(sets) != 3:
        raise RuntimeError("arc_sign made no ARC set")
    return b"".join(crlf(h) for h in sets) + msg


def make_arc(rng, idx, domains, sealers):
    """a message from a sender domain relayed by ARC intermediaries
    (ARC_KINDS): (msg, envelope, expected, extra, kind)"""
    kind, _, hops, broken_after = pick_weighted(rng, ARC_KINDS)
    from_dom = rng.choice(domains)
    head, body = build_message(rng, idx, from_dom, message_size(rng))
    msg = do_sign(head + body.encode(), from_dom,
                  rng.choice(["rsa", "rsa", "ed"]), (b"relaxed", b"relaxed"))
    intact, mailfrom = True, from_dom.name   # what the next hop receives
    saw_pass = []                    # per hop: its AAR shows an aligned pass
    for n, h in enumerate(hops):
        s = sealers[h]
        dk = "pass" if intact else "fail"
        saw = [("spf", "pass", "smtp.mailfrom=" + mailfrom),
               ("dkim", dk, "header.d=" + from_dom.name)]
        if from_dom.dmarc is not None:
            saw.append(("dmarc", dk if mailfrom != from_dom.name else "pass",
                        "header.from=" + from_dom.name))
        saw_pass.append(intact or mailfrom == from_dom.name)
        footer = None
        if s.modifies:
            footer = ("-- \r\nYou received this through %s, message %d\r\n"
                      % (s.name, idx)).encode()
            intact = False
        msg = arc_hop(msg, s, saw, n, footer)
        mailfrom = s.name
    if broken_after:                 # changed after the last seal
        msg += b"appended after the ARC seal\r\n"
        intact = False
    last = sealers[hops[-1]]
    sigs = [(from_dom.name, "pass" if intact else "fail")]
    spf = "pass"                     # the last hop's own address and domain
    arc = "fail" if broken_after else "pass"
    dmarc, action = dmarc_verdict(from_dom, None, spf, sigs)
    if dmarc == "fail" and arc == "pass":
        # ARCTrustedSealers: newest hop down to the one that saw the pass
        for n in reversed(range(len(hops))):
            if not sealers[hops[n]].trusted:
                break
            if saw_pass[n]:
                action = "accept"
                break
    expected = "spf=%s dkim=%s dmarc=%s action=%s" % (
        spf, sigs[0][1], dmarc, action)
    envelope = (last.ip, "mail." + last.name,
                "bounce%d@%s" % (idx, last.name),
                "rcpt%d@bench-rcpt.example" % (idx % 37))
    return msg, envelope, expected, arc, kind


def ptr_records(domains, sealers):
    """(records of in-addr.arpa., the addresses whose iprev passes)"""
    recs, ok = [], set()
    n = len(domains)
    for d in domains:
        rev = ".".join(reversed(d.ip.split("."))) + ".in-addr.arpa"
        if d.i % 10 == 3 and n > 1:      # another domain's host: fail
            recs.append((rev, "PTR", "mail.%s." % domains[(d.i + 1) % n].name))
            continue
        if d.i % 10 == 7:                # a name without an A record: fail
            recs.append((rev, "PTR", "host-%s.dyn.bench-isp.example."
                         % d.ip.replace(".", "-")))
            continue
        if d.i % 10 == 5:                # two names, the second one passes
            recs.append((rev, "PTR", "alias.%s." % d.name))
        recs.append((rev, "PTR", "mail.%s." % d.name))
        ok.add(d.ip)
    for s in sealers:
        rev = ".".join(reversed(s.ip.split("."))) + ".in-addr.arpa"
        recs.append((rev, "PTR", "mail.%s." % s.name))
        ok.add(s.ip)
    return recs, ok


def reverse_zone_text(recs):
    lines = ["$ORIGIN .", "$TTL %d" % TTL,
             "in-addr.arpa. IN SOA ns.bench.example. "
             "hostmaster.bench.example. 1 3600 600 86400 %d" % TTL,
             "in-addr.arpa. IN NS ns.bench.example."]
    for owner, rtype, rdata in recs:
        lines.append("%s. IN %s %s" % (owner, rtype, rdata))
    return "\n".join(lines) + "\n"


def zone_text(domains, sealers=()):
    lines = ["$ORIGIN .", "$TTL %d" % TTL,
             ". IN SOA ns.bench.example. hostmaster.bench.example. "
             "1 3600 600 86400 %d" % TTL,
             ". IN NS ns.bench.example.",
             "ns.bench.example. IN A 127.0.0.1"]
    for d in list(domains) + list(sealers):
        for owner, rtype, rdata in d.records():
            lines.append("%s. IN %s %s" % (owner, rtype, rdata))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("-n", type=int, default=2000, help="messages")
    ap.add_argument("-s", type=int, default=1, help="seed")
    ap.add_argument("-d", type=int, default=50, help="sender domains")
    ap.add_argument("-t", default="", help="tag in every domain name "
                    "(domNN-TAG.example): a corpus new to any cache")
    ap.add_argument("--fresh", action="store_true", help="every message "
                    "its own two domains (-d is set to 2 x -n)")
    ap.add_argument("-k", type=int, default=0, help="key pairs, shared "
                    "round robin by the domains (0: one per domain)")
    ap.add_argument("--arc", type=float, default=10, help="percent of "
                    "the messages relayed by ARC intermediaries (0: none)")
    a = ap.parse_args()
    if a.fresh:
        a.d = 2 * a.n
    dkim.time.time = lambda: SIGN_TIME      # dkimpy stamps t= with it
    rng = random.Random(a.s)
    domains = [Domain(i, rng, a.d, a.t, a.fresh) for i in range(a.d)]
    keyrng = random.Random("keys-%d" % a.s)
    keys = []
    for i, d in enumerate(domains):
        if a.k and i >= a.k:
            d.rsa, d.ed = keys[i % a.k]
            continue
        d.rsa = seeded_rsa(keyrng)
        d.ed = seeded_ed25519(keyrng)
        keys.append((d.rsa, d.ed))
    by_name = {d.name: d for d in domains}
    sealers = [Sealer(n, ip, t, m, keyrng) for n, ip, t, m in SEALERS] \
        if a.arc > 0 else []
    ptrs, iprev_ok = ptr_records(domains, sealers)
    os.makedirs(os.path.join(a.outdir, "msgs"), exist_ok=True)
    with open(os.path.join(a.outdir, "root.zone"), "w") as f:
        f.write(zone_text(domains, sealers))
    with open(os.path.join(a.outdir, "reverse.zone"), "w") as f:
        f.write(reverse_zone_text(ptrs))
    with open(os.path.join(a.outdir, "arc-trusted"), "w") as f:
        f.write("".join(s.name + "\n" for s in sealers if s.trusted))
    # ARC's choices have an RNG of their own: the other messages are
    # those of --arc 0
    arng = random.Random("arc-%d" % a.s)
    tally = {}
    sizes = []
    with open(os.path.join(a.outdir, "index.tsv.tmp"), "w") as idx:
        for i in range(a.n):
            msg, env, expected, kind = make_one(rng, i, domains, by_name,
                                                a.fresh)
            arc = "none"
            if sealers and arng.uniform(0, 100) < a.arc:
                msg, env, expected, arc, kind = make_arc(arng, i, domains,
                                                         sealers)
            extra = "arc=%s iprev=%s" % (
                arc, "pass" if env[0] in iprev_ok else "fail")
            name = "msgs/%05d.eml" % i
            with open(os.path.join(a.outdir, name), "wb") as f:
                f.write(msg)
            idx.write("\t".join((name,) + env + (expected, extra)) + "\n")
            tally[kind] = tally.get(kind, 0) + 1
            sizes.append(len(msg))
    os.rename(os.path.join(a.outdir, "index.tsv.tmp"),
              os.path.join(a.outdir, "index.tsv"))
    sizes.sort()
    sys.stderr.write("corpus: %d messages, %d domains, seed %d; size "
                     "min/median/max %d/%d/%d bytes; kinds %s\n" % (
                         a.n, a.d, a.s, sizes[0], sizes[len(sizes) // 2],
                         sizes[-1], " ".join("%s=%d" % kv for kv in
                                             sorted(tally.items()))))


if __name__ == "__main__":
    main()
