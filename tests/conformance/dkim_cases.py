#!/usr/bin/python3
"""dkim_cases.py - DKIM vectors for dkim_suite, made at test time.

Usage: dkim_cases.py OUTDIR   (writes OUTDIR/NN.eml and prints the manifest)
       dkim_cases.py --random N SEED OUTDIR   (differential corpus: random
           messages, signing parameters and edits; the expected result is
           dkimpy's verdict: pass, or any non-pass result for its fail)

Messages are signed here by dkimpy (python3-dkim, the library behind
dkimsign) with keys from tests/unit/data/dkim and from dkimpy's own test
data, then edited the way each case says.  Every case names, per
signature selector, the results RFC 6376 (with RFC 8463 / RFC 8301 /
RFC 8601) allows, and records dkimpy's own verdict on the same bytes.

Manifest lines (TAB-separated, %XX-encoded like spf_yaml2lines.py):
    C  name  file
    K  dns-name  TXT-value
    E  selector  acceptable-results(comma)  dkimpy(pass|fail)  note
"""
import os
import sys
import time

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(HERE, '..', 'unit', 'data', 'dkim')
PYD = '/usr/lib/python3/dist-packages/dkim/tests/data'
DOM = 'example.org'
PASS = ['pass']
# RFC 6376 6.1.2/6.1.3 PERMFAIL; RFC 8601 2.7.1 leaves the keyword to the
# verifier among these (never pass, never temperror)
PERMFAIL = ['fail', 'permerror', 'neutral', 'policy']
FAIL = ['fail']


def rd(path, mode='rb'):
    with open(path, mode) as f:
        return f.read()


def record(path):
    return rd(path, 'r').splitlines()[0].strip()


KEYS = {
    'rs': (rd(os.path.join(UNIT, 'example.org-rs.private')),
           record(os.path.join(UNIT, 'example.org-rs.dns')), b'rsa-sha256'),
    'ed': (rd(os.path.join(UNIT, 'example.org-ed.private')).strip(),
           record(os.path.join(UNIT, 'example.org-ed.dns')), b'ed25519-sha256'),
    'py1024': (rd(os.path.join(PYD, 'test.private')),
               record(os.path.join(PYD, 'test.txt')), b'rsa-sha256'),
    'py2048': (rd(os.path.join(PYD, '2048_testkey.key')),
               record(os.path.join(PYD, '2048_testkey_wo_markers.pub.txt')),
               b'rsa-sha256'),
    'pyed': (rd(os.path.join(PYD, 'ed25519test.key')).strip(),
             record(os.path.join(PYD, 'ed25519test.dns')),
             b'ed25519-sha256'),
}

BASE = (b"From: Alice <alice@example.org>\n"
        b"To: bob@example.net\n"
        b"Subject: Test  message\n"
        b"Date: Tue, 24 Nov 2026 14:00:00 +0000\n"
        b"Message-ID: <vec@example.org>\n"
        b"\n"
        b"Hello  world.\n"
        b"Second line.\n")

HDRS = ['from', 'to', 'subject', 'date', 'message-id']


class XDKIM(dkim.DKIM):
    """dkimpy signer that also writes x= (dkimpy has no option for it)"""
    expire = None

    def gen_header(self, fields, include_headers, canon_policy, header_name,
                   pk):
        if self.expire is not None:
            fields.insert(len(fields) - 1, (b'x', str(self.expire).encode()))
        return super().gen_header(fields, include_headers, canon_policy,
                                  header_name, pk)


def sign(msg, sel, canon=(b'relaxed', b'relaxed'), hdrs=None, length=False,
         key=None, identity=None, now=None, expire=None, alg=None):
    priv, _, a = KEYS[key or sel]
    d = XDKIM(msg)
    d.expire = expire
    real = time.time
    if now is not None:
        time.time = lambda: now
    try:
        sig = d.sign(sel.encode(), DOM.encode(), priv,
                     signature_algorithm=alg or a, canonicalize=canon,
                     include_headers=[h.encode() for h in (hdrs or HDRS)],
                     length=length,
                     identity=identity.encode() if identity else None)
    finally:
        time.time = real
    return sig.replace(b'\r\n', b'\n') + msg


def keyrec(sel, rec=None):
    return ('%s._domainkey.%s' % (sel, DOM), rec or KEYS[sel][1])


def pubkey(sel):
    rec = KEYS[sel][1]
    return rec[rec.index('p=') + 2:].split(';')[0].strip()


CASES = []


def case(name, msg, keys, expect, note=''):
    CASES.append((name, msg, keys, expect, note))


def build():
    pairs = [(a, b) for a in (b'simple', b'relaxed')
             for b in (b'simple', b'relaxed')]
    # every canonicalization pair, both algorithms (RFC 6376 3.4, RFC 8463)
    for sel in ('rs', 'ed'):
        for c in pairs:
            cn = b'/'.join(c).decode()
            case('%s-%s' % (sel, cn), sign(BASE, sel, c), [keyrec(sel)],
                 {sel: PASS}, 'RFC 6376 3.4')
    # whitespace edits: relaxed tolerates, simple does not (3.4.2, 3.4.4)
    for c in pairs:
        cn = b'/'.join(c).decode()
        m = sign(BASE, 'rs', c).replace(b'Hello  world.\n',
                                        b'Hello world.   \n')
        case('body-ws-' + cn, m, [keyrec('rs')],
             {'rs': PASS if c[1] == b'relaxed' else FAIL}, 'RFC 6376 3.4.4')
        m = sign(BASE, 'rs', c).replace(b'Subject: Test  message\n',
                                        b'Subject:  Test \t message \n')
        case('header-ws-' + cn, m, [keyrec('rs')],
             {'rs': PASS if c[0] == b'relaxed' else FAIL}, 'RFC 6376 3.4.2')
        m = sign(BASE, 'rs', c).replace(b'Subject:', b'SUBJECT:')
        case('header-case-' + cn, m, [keyrec('rs')],
             {'rs': PASS if c[0] == b'relaxed' else FAIL}, 'RFC 6376 3.4.2')
        m = sign(BASE, 'rs', c) + b'\n\n\n'
        case('trailing-empty-lines-' + cn, m, [keyrec('rs')],
             {'rs': PASS}, 'RFC 6376 3.4.3, 3.4.4')
        m = sign(BASE.split(b'\n\n')[0] + b'\n\n', 'rs', c)
        case('empty-body-' + cn, m, [keyrec('rs')], {'rs': PASS},
             'RFC 6376 3.4.3, 3.4.4')
    # l= (3.5): text after the counted part is not covered
    m = sign(BASE, 'rs', length=True) + b'Appended by a list.\n'
    # authmilter's choice, RFC 6376 8.2 + RFC 8601 2.7.1: the signature
    # verifies, but nobody vouches for the appended text, so it is "policy"
    # (no DMARC pass); dkimpy says pass
    case('l-appended', m, [keyrec('rs')], {'rs': ['policy']},
         'RFC 6376 3.5 l=, 8.2')
    m = sign(BASE, 'rs', length=True).replace(b'Second', b'Altered')
    case('l-covered-changed', m, [keyrec('rs')], {'rs': FAIL},
         'RFC 6376 3.5 l=')
    # several signatures, each on its own (6.1, 4.2)
    m = sign(sign(BASE, 'rs'), 'ed')
    case('two-sigs-pass', m, [keyrec('rs'), keyrec('ed')],
         {'rs': PASS, 'ed': PASS}, 'RFC 6376 4.2')
    m = sign(sign(BASE, 'rs'), 'ed', key='pyed')
    case('two-sigs-one-bad', m, [keyrec('rs'), keyrec('ed')],
         {'rs': PASS, 'ed': FAIL}, 'RFC 6376 4.2: wrong ed25519 key')
    m = sign(sign(sign(BASE, 'rs'), 'ed'), 'py2048')
    case('three-sigs', m, [keyrec('rs'), keyrec('ed'), keyrec('py2048')],
         {'rs': PASS, 'ed': PASS, 'py2048': PASS}, 'RFC 6376 4.2')
    # h=: repeated and absent header fields (5.4.2, 8.15)
    h = ['from', 'subject', 'subject']
    case('h-oversigned', sign(BASE, 'rs', hdrs=h), [keyrec('rs')],
         {'rs': PASS}, 'RFC 6376 5.4.2')
    m = sign(BASE, 'rs', hdrs=h).replace(b'Date:',
                                         b'Subject: injected\nDate:')
    case('h-oversigned-added', m, [keyrec('rs')], {'rs': FAIL},
         'RFC 6376 5.4.2, 8.15')
    h = ['from', 'reply-to', 'subject']
    case('h-absent', sign(BASE, 'rs', hdrs=h), [keyrec('rs')],
         {'rs': PASS}, 'RFC 6376 5.4.2: absent = null string')
    m = sign(BASE, 'rs', hdrs=h).replace(b'Date:',
                                         b'Reply-To: x@example.net\nDate:')
    case('h-absent-added', m, [keyrec('rs')], {'rs': FAIL},
         'RFC 6376 5.4.2')
    two = BASE.replace(b'Date:', b'X-Tag: one\nX-Tag: two\nDate:')
    h = ['from', 'x-tag', 'x-tag']
    case('h-repeated', sign(two, 'rs', hdrs=h), [keyrec('rs')],
         {'rs': PASS}, 'RFC 6376 5.4.2: bottom-up')
    m = sign(two, 'rs', hdrs=h).replace(b'X-Tag: one\nX-Tag: two',
                                        b'X-Tag: two\nX-Tag: one')
    case('h-repeated-swapped', m, [keyrec('rs')], {'rs': FAIL},
         'RFC 6376 5.4.2: bottom-up')
    h = ['from', 'x-tag']
    m = sign(two, 'rs', hdrs=h)
    case('h-once-of-two', m, [keyrec('rs')], {'rs': PASS},
         'RFC 6376 5.4.2: the last instance is signed')
    m = m.replace(b'X-Tag: two', b'X-Tag: 2')
    case('h-once-of-two-last-changed', m, [keyrec('rs')], {'rs': FAIL},
         'RFC 6376 5.4.2')
    # time: x= expired, t= in the future (3.5)
    now = int(time.time())
    m = sign(BASE, 'rs', now=now - 3 * 86400, expire=now - 2 * 86400)
    case('x-expired', m, [keyrec('rs')], {'rs': PERMFAIL},
         'RFC 6376 3.5 x=: MAY be considered invalid; 6.1.1')
    m = sign(BASE, 'rs', now=now - 86400, expire=now + 86400)
    case('x-future', m, [keyrec('rs')], {'rs': PASS}, 'RFC 6376 3.5 x=')
    m = sign(BASE, 'rs', now=now + 7 * 86400)
    case('t-future', m, [keyrec('rs')], {'rs': PASS + PERMFAIL},
         'RFC 6376 3.5 t=: verifiers MAY ignore future signatures')
    # key records (3.6.1, 6.1.2)
    case('key-revoked', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; k=rsa; p=')], {'rs': PERMFAIL},
         'RFC 6376 3.6.1 p= empty: revoked')
    case('key-k-mismatch', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; k=ed25519; p=' + pubkey('rs'))],
         {'rs': PERMFAIL}, 'RFC 6376 6.1.2 step 6: k= vs a=')
    case('key-h-mismatch', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; h=sha1; p=' + pubkey('rs'))],
         {'rs': PERMFAIL}, 'RFC 6376 3.6.1 h=, 6.1.2 step 6')
    case('key-h-sha256-listed', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; h=sha1:sha256; p=' + pubkey('rs'))],
         {'rs': PASS}, 'RFC 6376 3.6.1 h=')
    case('key-bad-version', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM2; p=' + pubkey('rs'))], {'rs': PERMFAIL},
         'RFC 6376 3.6.1 v=: must be DKIM1')
    case('key-service-email', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; s=email; p=' + pubkey('rs'))],
         {'rs': PASS}, 'RFC 6376 3.6.1 s=')
    case('key-service-other', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; s=other; p=' + pubkey('rs'))],
         {'rs': PERMFAIL}, 'RFC 6376 3.6.1 s=: not for email')
    case('key-t-s-subdomain-i', sign(BASE, 'rs', identity='@sub.' + DOM),
         [keyrec('rs', 'v=DKIM1; t=s; p=' + pubkey('rs'))],
         {'rs': PERMFAIL}, 'RFC 6376 3.6.1 t=s: i= must be d=')
    case('key-t-s-same-i', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; t=s; p=' + pubkey('rs'))],
         {'rs': PASS}, 'RFC 6376 3.6.1 t=s')
    case('key-unknown-tag', sign(BASE, 'rs'),
         [keyrec('rs', 'v=DKIM1; zz=whatever; p=' + pubkey('rs'))],
         {'rs': PASS}, 'RFC 6376 3.6.1: unknown tags ignored')
    case('key-none', sign(BASE, 'rs'), [], {'rs': PERMFAIL},
         'RFC 6376 6.1.2 step 3: no key record')
    # dkimpy's own keys (1024 and 2048-bit rsa, ed25519)
    for sel in ('py1024', 'py2048', 'pyed'):
        case('dkimpy-key-' + sel, sign(BASE, sel), [keyrec(sel)],
             {sel: PASS}, 'dkimpy tests/data keys')
    # dkimpy's RFC 8463 rsa example message
    msg = rd(os.path.join(PYD, 'rfc6376.signed.rsa.msg'))
    case('dkimpy-rfc6376.signed.rsa', msg,
         [('test._domainkey.football.example.com',
           record(os.path.join(PYD, 'test.txt')))], {'test': PASS},
         'dkimpy tests/data, RFC 8463 A.3 rsa')


EDITS = [
    ('none', lambda m, r: m),
    ('body-ws', lambda m, r: m.replace(b'Hello  world.', b'Hello world. \t')),
    ('header-ws', lambda m, r: m.replace(b'Subject: Test  message',
                                         b'Subject:  Test message ')),
    ('header-case', lambda m, r: m.replace(b'\nTo:', b'\nTO:')),
    ('append', lambda m, r: m + b'More text.\n'),
    ('trailing-blank', lambda m, r: m + b'\n\n'),
    ('body-char', lambda m, r: m.replace(b'Second', b'Sec0nd')),
    ('add-subject', lambda m, r: m.replace(b'\nDate:',
                                           b'\nSubject: extra\nDate:')),
    ('add-reply-to', lambda m, r: m.replace(b'\nDate:',
                                            b'\nReply-To: r@x.example\nDate:')),
    ('change-to', lambda m, r: m.replace(b'bob@example.net',
                                         b'eve@example.net')),
    ('drop-date', lambda m, r: b'\n'.join(l for l in m.split(b'\n')
                                          if not l.startswith(b'Date:'))),
    ('refold-subject', lambda m, r: m.replace(b'Subject: Test  message',
                                              b'Subject: Test\n  message')),
]


def build_random(n, seed):
    import random
    r = random.Random(seed)
    sels = ['rs', 'ed', 'py2048', 'pyed', 'py1024']
    canons = [(a, b) for a in (b'simple', b'relaxed')
              for b in (b'simple', b'relaxed')]
    hdrsets = [HDRS, ['from'], ['from', 'subject', 'subject'],
               ['from', 'reply-to', 'to', 'subject'],
               ['from', 'to', 'to', 'date', 'subject']]
    for i in range(n):
        body = r.choice([b'Hello  world.\nSecond line.\n', b'',
                         b'Hello  world.\nSecond line.\n\n\n',
                         b'x' * r.randrange(1, 300) + b'\n'])
        msg = BASE.split(b'\n\n')[0] + b'\n\n' + body
        used = []
        limited = []            # signed with l=
        for _ in range(r.choice([1, 1, 1, 2])):
            sel = r.choice([x for x in sels if x not in used])
            used.append(sel)
            length = r.random() < 0.2
            if length:
                limited.append(sel)
            msg = sign(msg, sel, r.choice(canons), r.choice(hdrsets),
                       length=length)
        ename, edit = r.choice(EDITS)
        msg = edit(msg, r)
        keys = [keyrec(s) for s in used]
        kprob = ''
        if r.random() < 0.1:
            kprob = r.choice(['revoked', 'missing'])
            keys = keys[1:] if kprob == 'missing' else \
                [(keys[0][0], 'v=DKIM1; p=')] + keys[1:]
        name = 'r%05d-%s-%s%s' % (i, '+'.join(used), ename,
                                   '-' + kprob if kprob else '')
        # text appended past l=: authmilter says "policy" on purpose
        # (RFC 6376 8.2); an explained disagreement with dkimpy's pass
        good = used[1:] if kprob else used
        over = {s: ['policy'] for s in limited
                if ename == 'append' and s in good}
        CASES.append((name, msg, keys, over or None, 'random'))


def dkimpy_verdicts(msg, keys):
    table = {k.encode(): v.encode() for k, v in keys}

    def dnsfunc(name, timeout=5):
        return table.get(name.rstrip(b'.'))
    d = dkim.DKIM(msg)
    out = {}
    for i, (k, v) in enumerate(d.headers):
        pass
    sigs = [v for k, v in d.headers if k.lower() == b'dkim-signature']
    for i, v in enumerate(sigs):
        tags = dict(t.strip().split(b'=', 1) for t in
                    v.replace(b'\r\n', b'').split(b';') if b'=' in t)
        sel = tags.get(b's', b'').strip().decode()
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except Exception:
            ok = False
        out[sel] = 'pass' if ok else 'fail'
    return out


def enc(s):
    b = s.encode('utf-8') if isinstance(s, str) else s
    e = ''.join(chr(c) if 0x21 <= c <= 0x7e and c != 0x25 else '%%%02X' % c
                for c in b)
    return e or '-'


def main():
    if sys.argv[1] == '--random':
        out = sys.argv[4]
        build_random(int(sys.argv[2]), int(sys.argv[3]))
    else:
        out = sys.argv[1]
        build()
    for n, (name, msg, keys, expect, note) in enumerate(CASES):
        path = os.path.join(out, '%03d.eml' % n)
        with open(path, 'wb') as f:
            f.write(msg.replace(b'\r\n', b'\n'))
        print('C\t%s\t%s' % (enc(name), enc(path)))
        for k, v in keys:
            print('K\t%s\t%s' % (enc(k), enc(v)))
        py = dkimpy_verdicts(msg, keys)
        if note == 'random':    # differential: dkimpy's verdict ...
            over = expect or {}
            expect = {s: PASS if v == 'pass' else PERMFAIL
                      for s, v in py.items()}
            expect.update(over)  # ... but for the explained l= cases
        for sel, acc in expect.items():
            print('E\t%s\t%s\t%s\t%s' % (enc(sel), enc(','.join(acc)),
                                         py.get(sel, 'absent'), enc(note)))


main()
