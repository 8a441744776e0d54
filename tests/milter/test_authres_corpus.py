"""Every header the milter writes, over the fuzz seed corpora and the
differential corpora, read back by independent parsers (issue 15,
defect 9).

Messages: the messages of the fuzz seed corpora (tests/fuzz/corpus/
fuzz_message; a message per From value of fuzz_from; a message carrying
each A-R value of fuzz_authres, as found and with our authserv-id), the
DKIM vectors of the conformance tier and the DKIM differential corpus
(tests/conformance/dkim_cases.py, generated here), and one message per
check of the SPF differential corpus (tests/differential/spf_corpus.py,
generated here, its zone served by nsd).  Envelopes: each message is sent
with the next client IP / HELO / MAIL FROM of a list made of the SPF
corpus's checks, the fuzz_message envelopes and odd ones (SMTPUTF8 local
parts and domains, quoted and source-routed local parts, address
literals, IPv6, long and punctuated HELO names).

The daemon is real (AddReceivedSPF yes, RejectFailures no so that every
message that is not exempt gets its headers), its DNS a real nsd serving
the test zone plus the corpora's records.  Each Authentication-Results
the milter adds must parse with python3-authres (RFC 8601), carry our
authserv-id, and give the same (method, result) list as a grammar-free
reading of the same text and as the daemon's summary log line for the
message.  python3-authres does not read Received-SPF; each Received-SPF
must match the RFC 7208 section 9.1 ABNF (checked by a small parser
here), be read by pyspf's parse_header_spf (python3-spf) to the same
result, client-ip and identity, and give the same SPF result as the A-R.
"""

import collections
import ipaddress
import os
import re
import subprocess
import sys

import authres
import pytest
import spf

from conftest import (AUTHSERV_ID, Authmilter, NsdServer, make_msg,
                      naive_methods, zone_records)
from milterclient import MilterError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FUZZ = os.path.join(ROOT, "tests", "fuzz", "corpus")
PY = "/usr/bin/python3"
N_DIFF = int(os.environ.get("AUTHRES_CORPUS_N", "150"))   # per corpus
SEED = int(os.environ.get("DIFF_SEED", "1"))

ODD_ENVELOPES = [
    ("192.0.2.10", "mail.example.org", "<\u00e9\u00e9\u00e9@example.org>"),
    ("2001:db8::10", "[IPv6:2001:db8::10]",
     "<j\u00f6rg.m\u00fcller@example.org>"),
    ("192.0.2.10", "b\u00fccher.example", '<"\u00e9 x"@example.org>'),
    ("198.51.100.20", "x;y=z", "<>"),
    ("192.0.2.10", "h" * 250, "<user+tag=x@example.org>"),
    ("192.0.2.10", "[192.0.2.10]", "<@route.example:user@example.org>"),
    ("192.0.2.10", "-dash-.example", "<user@[192.0.2.1]>"),
    ("192.0.2.10", "(c)", '<"a\\"b"@example.org>'),
    ("192.0.2.10", 'a"b', "<user@b\u00fccher.example>"),
    ("192.0.2.10", "mail.example.org.", "<user@EXAMPLE.ORG.>"),
    ("192.0.2.10", "mail.example.org", "<\u00e9@b\u00fccher.example>"),
    ("198.51.100.20", "under_score.example.com", '<"john doe"@example.com>'),
    ("::ffff:192.0.2.10", "mail.example.org", "<user@example.org>"),
    ("2001:db8::99", "mail.example.info", "<a@permerror.example.info>"),
    ("192.0.2.10", "mail.example.org", "<a@softfail.example.info>"),
    ("192.0.2.10", "mail.example.org", "<a@neutral.example.info>"),
    ("192.0.2.10", "mail.example.org", "<a@none.example.info>"),
    ("192.0.2.10", "mail.example.org", "<a\\@b@example.org>"),
    ("192.0.2.10", "mail.example.org", "user@example.org"),
    ("192.0.2.10", "", "<postmaster>"),
    # hostile local parts, domains and HELO names
    ("192.0.2.10", "mail example org", '<"a(b)c;d=e"@example.org>'),
    ("192.0.2.10", "a\\b", '<"\\\\"@example.org>'),
    ("192.0.2.10", "(comment", '<""@example.org>'),
    ("192.0.2.10", "x)", "<a..b@example.org>"),
    ("192.0.2.10", '"quoted"', "<.a@example.org>"),
    ("192.0.2.10", "\u00fc", "<a@-bad-.example>"),
    ("192.0.2.10", "[300.1.1.1]", "<a@exa_mple.org>"),
    ("192.0.2.10", "[IPv6:zz]", "<a b@example.org>"),
    ("192.0.2.10", "a=b;c", "<user@192.0.2.1>"),
    ("192.0.2.10", "a;b", "<user@[IPv6:2001:db8::1]>"),
    ("192.0.2.10", "mail.example.org", "<a@b@example.org>"),
    ("192.0.2.10", "mail.example.org", "<\u00e9@\u00e9.example>"),
    ("192.0.2.10", "mail.example.org", "<user@xn--bcher-kva.example>"),
    ("192.0.2.10", "mail.example.org", "<" + "l" * 64 + "@example.org>"),
    ("192.0.2.10", "mail.example.org", "<" + "l" * 300 + "@example.org>"),
    ("192.0.2.10", "mail.example.org",
     "<u@" + ".".join(["d" * 63] * 4) + ">"),
    ("192.0.2.10", "mail.example.org", '<"a\tb"@example.org>'),
    ("192.0.2.10", "mail.example.org", '<"a\x7fb"@example.org>'),
    ("192.0.2.10", "mail.example.org", "<a%b@example.org>"),
    ("192.0.2.10", "mail.example.org", "<a+b=c/d!e#f$g&h'i*j?k^l`m{n|o}p~q"
     "@example.org>"),
    ("255.255.255.255", "mail.example.org", "<user@example.org>"),
    ("::", "mail.example.org", "<user@example.org>"),
    ("fe80::1", "mail.example.org", "<user@example.org>"),
    ("::ffff:198.51.100.20", "mail.example.org", "<user@example.com>"),
    ("127.0.0.1", "localhost", "<user@example.org>"),   # exempt
    ("::1", "localhost", "<user@example.org>"),          # exempt
]


# ------------------------------------------------------------ the corpora

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw).stdout


def unenc(s):
    """a field of the %XX-encoded manifests ('-' is empty)"""
    if s == "-":
        return ""
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  s.encode()).decode("utf-8", "surrogateescape")


def spf_corpus(tmp):
    """(zone lines, [(ip, helo, mailfrom)]) of the SPF differential corpus"""
    yml = os.path.join(tmp, "spf.yml")
    with open(yml, "wb") as f:
        f.write(run([PY, os.path.join(ROOT, "tests", "differential",
                                      "spf_corpus.py"), str(N_DIFF),
                     str(SEED), os.path.join(tmp, "explained")]))
    lines = run([PY, os.path.join(ROOT, "tests", "conformance",
                                  "spf_yaml2lines.py"), yml]).decode()
    zone, envs = [], []
    for line in lines.splitlines():
        f = line.split("\t")
        if f[0] == "R":
            zone.append(unenc(f[1]))
        elif f[0] == "X":
            host, helo, mf = unenc(f[2]), unenc(f[3]), unenc(f[4])
            envs.append((host, helo, "<%s>" % mf))
    return zone, envs


def dkim_corpus(tmp, args, name):
    """([(name, message bytes)], {dns name: TXT}) of dkim_cases.py"""
    out = os.path.join(tmp, name)
    os.makedirs(out)
    manifest = run([PY, os.path.join(ROOT, "tests", "conformance",
                                     "dkim_cases.py")] + args + [out]).decode()
    msgs, keys = [], {}
    for line in manifest.splitlines():
        f = line.split("\t")
        if f[0] == "C":
            with open(unenc(f[2]), "rb") as fh:
                msgs.append(("%s/%s" % (name, unenc(f[1])), fh.read()))
        elif f[0] == "K":
            value = unenc(f[2])
            # a case that revokes the key must not hide it from the others
            if value.rstrip().endswith("p=") and unenc(f[1]) in keys:
                continue
            keys[unenc(f[1])] = value
    return msgs, keys


def fuzz_messages():
    """[(name, message, envelope or None)] from the fuzz seed corpora"""
    out = []
    zone = []
    d = os.path.join(FUZZ, "fuzz_message")
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()
        zpart, env, msg = data.split(b"\n%%\n", 2)
        zone += zpart.decode().splitlines()
        ip, helo, mf = env.decode("utf-8", "surrogateescape").split("\n")[:3]
        out.append(("fuzz_message/" + f, msg, (ip, helo, mf)))
    d = os.path.join(FUZZ, "fuzz_from")
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            value = fh.read().decode("utf-8", "surrogateescape").rstrip("\n")
        headers = [("From", value), ("To", " rcpt@example.net"),
                   ("Subject", " from seed " + f)]
        out.append(("fuzz_from/" + f, (headers, b"body\r\n"), None))
    d = os.path.join(FUZZ, "fuzz_authres")
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            ar, _, theirs = fh.read().decode(
                "utf-8", "surrogateescape").partition("\n")
        theirs = theirs.strip()
        for tag, value in (("", ar), ("-ours", ar.replace(theirs, AUTHSERV_ID)
                                      if theirs else ar)):
            headers = [("Authentication-Results", value),
                       ("From", " user@example.org"),
                       ("Subject", " A-R seed " + f)]
            out.append(("fuzz_authres/" + f + tag, (headers, b"body\r\n"),
                        None))
    return out, zone


def zone_line(line):
    """'name TTL IN TYPE rdata' -> (name, TYPE, rdata), or None"""
    m = re.match(r"(\S+)\s+(?:\d+\s+)?IN\s+([A-Z0-9]+)\s+(.*)$", line.strip())
    if not m:
        return None
    return (m.group(1).rstrip(".").lower(), m.group(2), m.group(3))


def merged_zone(keys, extra, dkim_keys):
    """the test zone, with the corpora's records added; a corpus record
    replaces the test zone's records of the same name and type"""
    recs = list(zone_records(keys))
    add = [r for r in (zone_line(x) for x in extra) if r is not None]
    add += [(name.rstrip(".").lower(), "TXT",
             " ".join('"%s"' % value[i:i + 250].replace("\\", "\\\\")
                      .replace('"', '\\"')
                      for i in range(0, max(len(value), 1), 250)))
            for name, value in dkim_keys.items()]
    seen = set()
    uniq = []
    for r in add:
        if (r[0], r[1], r[2]) not in seen:
            seen.add((r[0], r[1], r[2]))
            uniq.append(r)
    taken = {(n, t) for n, t, _ in uniq}
    recs = [r for r in recs if (r[0].lower(), r[1]) not in taken]
    return recs + uniq


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, keys):
    tmp = str(tmp_path_factory.mktemp("corpus"))
    spf_zone, spf_envs = spf_corpus(tmp)
    conf_msgs, conf_keys = dkim_corpus(tmp, [], "dkim-vectors")
    diff_msgs, diff_keys = dkim_corpus(tmp, ["--random", str(N_DIFF),
                                             str(SEED)], "dkim-random")
    fuzz, fuzz_zone = fuzz_messages()
    # the fuzz zones reuse the test zone's names: only names it lacks
    base = {(n.lower(), t) for n, t, _ in zone_records(keys)}
    fuzz_zone = [x for x in fuzz_zone if zone_line(x) is not None and
                 zone_line(x)[:2] not in base]
    dkim_keys = dict(conf_keys)
    dkim_keys.update(diff_keys)
    envs = ODD_ENVELOPES + [e for _, _, e in fuzz if e] + spf_envs
    msgs = list(fuzz)
    msgs += [(n, m, None) for n, m in conf_msgs + diff_msgs]
    for i, (ip, helo, mf) in enumerate(spf_envs):
        addr = mf.strip("<>") or "postmaster@" + helo
        msgs.append(("spf/%d" % i, make_msg(from_=addr), (ip, helo, mf)))
    return {"msgs": msgs, "envs": envs,
            "zone": merged_zone(keys, spf_zone + fuzz_zone, dkim_keys)}


@pytest.fixture(scope="module")
def corpus_milter(corpus, authmilter_bin, tmp_path_factory):
    ns = NsdServer(str(tmp_path_factory.mktemp("nsd-corpus")),
                   corpus["zone"]).start()
    m = Authmilter(authmilter_bin, str(tmp_path_factory.mktemp("am")),
                   "authres-corpus", "127.0.0.1@%d" % ns.port,
                   [("AddReceivedSPF", "yes"), ("RejectFailures", "no"),
                    ("LogLevel", "info")]).start()
    yield m
    m.terminate()
    rc = m.wait(10)
    ns.stop()
    ns.reap()
    assert rc == 0, "authmilter exit status %s:\n%s" % (rc, m.log()[-2000:])


# ------------------------------------------------------------ the readers


# RFC 5322 3.2.2, 3.2.3, 3.2.4 (no obsolete forms)
_FWS = r"(?:[ \t]*\r?\n)?[ \t]+"
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = _ATEXT + r"+(?:\." + _ATEXT + r"+)*"
_QSTRING = r'"(?:(?:' + _FWS + r')?(?:[\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e]))*' \
    r'(?:' + _FWS + r')?"'
_RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror",
            "permerror")


def _skip_comment(s, i):
    """index past the comment at s[i] == '(' (nested, quoted-pairs), or -1"""
    depth = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or not ("\x20" <= s[i + 1] <= "\x7e" or
                                       s[i + 1] == "\t"):
                return -1
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif not ("\x21" <= c <= "\x7e" or c in " \t\r\n"):
            return -1           # ctext is printable ASCII (and FWS)
        i += 1
    return -1


def _skip_cfws(s, i):
    while i < len(s):
        m = re.compile(_FWS).match(s, i)
        if m:
            i = m.end()
        elif s[i] == "(":
            i = _skip_comment(s, i)
            if i < 0:
                return -1
        else:
            break
    return i


def received_spf_abnf(value):
    """RFC 7208 9.1:
         header-field = "Received-SPF:" [CFWS] result FWS [comment FWS]
                        [ key-value-list ] CRLF
         key-value-list = key-value-pair *( ";" [CFWS] key-value-pair )
                          [";"]
         key-value-pair = key [CFWS] "=" ( dot-atom / quoted-string )
       -> (result, {key: value}) or raises ValueError"""
    s = value
    i = _skip_cfws(s, 0)
    m = re.compile(r"[A-Za-z]+").match(s, i)
    if i < 0 or not m or m.group(0).lower() not in _RESULTS:
        raise ValueError("no result word")
    result = m.group(0).lower()
    i = m.end()
    kv = {}
    if i == len(s):
        return result, kv
    m = re.compile(_FWS).match(s, i)
    if not m:
        raise ValueError("no FWS after the result at %d" % i)
    i = m.end()
    if i < len(s) and s[i] == "(":
        i = _skip_comment(s, i)
        if i < 0:
            raise ValueError("bad comment")
        if i == len(s):
            return result, kv
        m = re.compile(_FWS).match(s, i)
        if not m:
            raise ValueError("no FWS after the comment at %d" % i)
        i = m.end()
    key_re = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
    val_re = re.compile(_DOT_ATOM + "|" + _QSTRING)
    first = True
    while i < len(s):
        if not first:
            if s[i] != ";":
                raise ValueError("expected ';' at %d: %r" % (i, s[i:i + 20]))
            i += 1
            i = _skip_cfws(s, i)
            if i < 0:
                raise ValueError("bad CFWS")
            if i == len(s):
                break           # a final ';'
        first = False
        m = key_re.match(s, i)
        if not m:
            raise ValueError("no key at %d: %r" % (i, s[i:i + 20]))
        key = m.group(0).lower()
        i = _skip_cfws(s, m.end())
        if i < 0 or i >= len(s) or s[i] != "=":
            raise ValueError("no '=' after %s" % key)
        m = val_re.match(s, i + 1)
        if not m:
            raise ValueError("value of %s is neither dot-atom nor "
                             "quoted-string: %r" % (key, s[i + 1:i + 40]))
        v = m.group(0)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        kv[key] = v
        i = m.end()
    return result, kv


def summaries(log):
    """{queue id: {key: value}} of the summary lines in the daemon's log"""
    out = {}
    for line in log.splitlines():
        if " action=" not in line:
            continue
        m = re.search(r"\b(4QT\d{5}X)\b", line)
        if not m:
            continue
        kv = {}
        for p in re.finditer(r'([A-Za-z_.-]+)=("(?:[^"\\]|\\.)*"|\S*)', line):
            kv.setdefault(p.group(1), p.group(2))
        out[m.group(1)] = kv
    return out


def summary_methods(kv):
    """(method, result) list the summary line says, in A-R order"""
    out = []
    for key in ("spf_helo", "spf"):
        if kv.get(key, "-") != "-":
            out.append(("spf", kv[key]))
    dk = kv.get("dkim", "none")
    if dk == "none":
        out.append(("dkim", "none"))
    else:
        out += [("dkim", d.split(":", 1)[0]) for d in dk.split(",")]
    out.append(("arc", kv.get("arc")))
    out.append(("dmarc", kv.get("dmarc")))
    return out


def unquote(v):
    """a property value as python3-authres gives it, quoted-pairs undone
    (it strips the quotes of a quoted-string value but keeps its pairs)"""
    return re.sub(r"\\(.)", r"\1", v)


def mailfrom_forms(mailfrom, helo):
    """what smtp.mailfrom may say for a MAIL FROM argument (RFC 8601
    2.7.2: the address as checked, or its domain alone)"""
    a = mailfrom.strip(" \t")
    if a.startswith("<") and a.endswith(">"):
        a = a[1:-1]
    forms = {a}
    if a.startswith("@") and ":" in a:          # RFC 5321 source route
        forms.add(a.split(":", 1)[1])
    if a == "" and helo:                        # RFC 7208 2.4
        forms.add("postmaster@" + helo)
    for f in list(forms):
        if "@" in f:
            forms.add(f.rsplit("@", 1)[1])
    return {f.lower() for f in forms}


def check_props(h, env):
    """the spf properties name what was sent"""
    problems = []
    _, helo, mailfrom = env
    for r in h.results:
        if r.method != "spf":
            continue
        for p in r.properties:
            v = unquote(p.value)
            if p.type == "smtp" and p.name == "helo" and v != helo:
                problems.append("smtp.helo=%r, HELO was %r" % (v, helo))
            if p.type == "smtp" and p.name == "mailfrom" and \
                    v.lower() not in mailfrom_forms(mailfrom, helo):
                problems.append("smtp.mailfrom=%r, MAIL FROM was %r"
                                % (v, mailfrom))
    return problems


def check_ar(value, kv, env):
    """problems with one A-R value (empty list: none)"""
    try:
        h = authres.AuthenticationResultsHeader.parse(
            "Authentication-Results: " + value)
    except Exception as e:          # noqa: BLE001 - any refusal is a defect
        return ["python3-authres refuses it: %s: %s" % (type(e).__name__, e)]
    problems = []
    if h.authserv_id != AUTHSERV_ID:
        problems.append("authserv-id %r" % h.authserv_id)
    got = [(r.method.lower(), (r.result or "").lower()) for r in h.results]
    if got != naive_methods(value):
        problems.append("python3-authres reads %r, the text says %r"
                        % (got, naive_methods(value)))
    problems += check_props(h, env)
    if kv is not None and "exempt" not in kv and got != summary_methods(kv):
        problems.append("python3-authres reads %r, the summary line says %r"
                        % (got, summary_methods(kv)))
    return problems


def check_received_spf(value, ar_value, env):
    """problems with one Received-SPF value"""
    ip, helo, mailfrom = env
    try:
        result, kv = received_spf_abnf(value)
    except ValueError as e:
        return ["not RFC 7208 9.1 syntax: %s" % e]
    problems = []
    q = spf.query("0.0.0.0", "", "")
    try:
        q.parse_header_spf(value)
    except Exception as e:          # noqa: BLE001
        return ["pyspf refuses it: %s: %s" % (type(e).__name__, e)]
    if q.result != result:
        problems.append("pyspf reads result %r, the ABNF %r" % (q.result,
                                                                 result))
    # RFC 7208 5: an IPv4-mapped IPv6 client is checked as IPv4
    want = ipaddress.ip_address(ip)
    if want.version == 6 and want.ipv4_mapped is not None:
        want = want.ipv4_mapped
    try:
        got = ipaddress.ip_address(kv.get("client-ip", ""))
    except ValueError:
        got = None
    if got != want:
        problems.append("client-ip %r, sent %r" % (kv.get("client-ip"), ip))
    if str(q.c) != str(want):
        problems.append("pyspf reads client-ip %r" % str(q.c))
    if "envelope-from" in kv and kv["envelope-from"].lower() not in \
            mailfrom_forms(mailfrom, helo):
        problems.append("envelope-from=%r, MAIL FROM was %r"
                        % (kv["envelope-from"], mailfrom))
    if "helo" in kv and kv["helo"] != helo:
        problems.append("helo=%r, HELO was %r" % (kv["helo"], helo))
    if kv.get("identity") != q.ident:
        problems.append("identity %r vs pyspf %r" % (kv.get("identity"),
                                                     q.ident))
    try:
        h = authres.AuthenticationResultsHeader.parse(
            "Authentication-Results: " + ar_value) if ar_value else None
    except Exception:               # noqa: BLE001 - reported by check_ar
        h = None
    if h is not None:
        ptype = "mailfrom" if kv.get("identity") == "mailfrom" else "helo"
        spfs = [r for r in h.results if r.method == "spf"]
        # the A-R lists helo then mailfrom; Received-SPF is for one of them
        want = spfs[-1] if ptype == "mailfrom" else spfs[0] if spfs else None
        if want is None or want.result != result:
            problems.append("Received-SPF says %s, the A-R's spf %s" %
                            (result, want.result if want else "absent"))
    return problems


# ------------------------------------------------------------ the test

def send(m, message, env, qid):
    ip, helo, mf = env
    fam = "6" if ":" in ip else "4"
    return m.send(message, client_addr=ip, family=fam,
                  helo=helo if helo else None, mailfrom=mf or "<>",
                  queue_id=qid)


def test_every_header_parses(corpus_milter, corpus, capsys):
    m = corpus_milter
    envs = corpus["envs"]
    results = []
    for k, (name, message, env) in enumerate(corpus["msgs"]):
        env = env or envs[k % len(envs)]
        qid = "4QT%05dX" % (90000 + k % 10000)
        try:
            res = send(m, message, env, qid)
        except (MilterError, OSError) as e:
            results.append((name, env, qid, None, "milter error: %s" % e))
            continue
        results.append((name, env, qid, res, None))
    sums = summaries(m.log())
    failures = []
    seen = collections.Counter()
    n_ar = n_rspf = n_none = 0
    for name, env, qid, res, err in results:
        if err:
            failures.append("%s %r: %s" % (name, env, err))
            continue
        adds = [op for op in res.ops if op.kind in ("add", "insert")]
        ars = [op.value for op in adds
               if op.name.lower() == "authentication-results"]
        rspfs = [op.value for op in adds if op.name.lower() == "received-spf"]
        if not ars:
            n_none += 1
        for v in ars:
            n_ar += 1
            seen.update("%s=%s" % mr for mr in naive_methods(v))
            for p in check_ar(v, sums.get(qid), env):
                failures.append("%s %r: A-R: %s\n    %r" % (name, env, p, v))
        for v in rspfs:
            n_rspf += 1
            for p in check_received_spf(v, ars[0] if ars else None, env):
                failures.append("%s %r: Received-SPF: %s\n    %r"
                                % (name, env, p, v))
    with capsys.disabled():
        sys.stdout.write(
            "\n  authres corpus: %d messages, %d envelopes, %d A-R and %d "
            "Received-SPF checked, %d messages without A-R, %d failures\n"
            % (len(results), len(envs), n_ar, n_rspf, n_none, len(failures)))
        sys.stdout.write("  results: %s\n" % " ".join(
            "%s:%d" % kv for kv in sorted(seen.items())))
    # the oracle must have run: most messages get our headers
    assert n_ar >= 0.9 * len(results), (n_ar, len(results), n_none)
    assert n_rspf >= 0.5 * len(results), (n_rspf, len(results))
    assert not failures, "%d failures:\n%s" % (
        len(failures), "\n".join(failures[:40]))
