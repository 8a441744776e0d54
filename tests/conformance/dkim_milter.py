#!/usr/bin/python3
"""dkim_milter.py - the DKIM vectors through the real daemon, keys served
by nsd (the conformance tier's "real" mode for DKIM).

Usage: dkim_milter.py AUTHMILTER WORKDIR MANIFEST

MANIFEST is dkim_cases.py's output (C/K/E lines, messages in files).  One
nsd and one authmilter for all cases: nsd serves the key records of a
run of cases with the same keys (TTL 0, reloaded when they change).  Each
key record is served as several character-strings cut at odd places (127
bytes, then an empty string): RFC 6376 3.6.2.2 says they are joined, and
a real server hands them over cut however the zone's author wrote them.
Each message goes through one milter connection; per signature selector
the dkim=... entries with that header.s in the daemon's A-R must all be
results the case allows (dkim_cases.py: RFC 6376 / 8463 / 8301 / 8601).

Prints one line per failing signature and ends with "N passed, N failed"
(cases).
"""
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from amdaemon import Daemon, ar_results, our_ar  # noqa: E402
from realdns import Front, Nsd  # noqa: E402
from spf_milter import expected_failures  # noqa: E402
from spf_yaml2lines import zname  # noqa: E402

CUT = 127               # bytes per character-string of a served key


def dec(s):
    if s == '-':
        return ''
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == '%' and i + 2 < len(s) + 0 and \
                all(c in '0123456789abcdefABCDEF' for c in s[i + 1:i + 3]):
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        else:
            out += s[i].encode()
            i += 1
    return out.decode('utf-8', 'surrogateescape')


def txt_cut(value):
    """TXT rdata: the value cut every CUT bytes, then an empty string"""
    b = value.encode()
    parts = [b[i:i + CUT] for i in range(0, len(b), CUT)] + [b'']
    return ' '.join('"%s"' % ''.join(
        chr(c) if 0x20 <= c <= 0x7e and chr(c) not in '"\\'
        else '\\%03d' % c for c in p) for p in parts)


def read_manifest(path):
    """[(name, file, ((keyname, value), ...), [(sel, [acc], py, note)])]"""
    cases = []
    with open(path) as f:
        for ln in f:
            f_ = [dec(x) for x in ln.rstrip('\n').split('\t')]
            if f_[0] == 'C':
                cases.append([f_[1], f_[2], [], []])
            elif f_[0] == 'K':
                cases[-1][2].append((f_[1], f_[2]))
            elif f_[0] == 'E':
                cases[-1][3].append((f_[1], f_[2].split(','), f_[3],
                                     f_[4]))
    return [(n, fl, tuple(k), e) for n, fl, k, e in cases]


def dkim_results(res):
    """{selector: [results]} of the daemon's A-R, or a text why none"""
    ar = our_ar(res)
    if ar is None:
        return 'no A-R (%s %s)' % (res.step, res.action)
    out = {}
    for m, r, p in ar_results(ar):
        if m == 'dkim':
            out.setdefault(p.get('header.s', ''), []).append(r)
    return out


def main():
    binary, workdir, manifest = sys.argv[1:4]
    xfail = expected_failures('dkim-real')
    nsd = Nsd(os.path.join(workdir, 'nsd')).start()
    front = Front(nsd.port)
    d = Daemon(binary, workdir, '127.0.0.1@%d' % front.port).start()
    npass = nfail = 0
    loaded = None
    try:
        for name, path, keys, exps in read_manifest(manifest):
            if keys != loaded:
                nsd.load(['%s 0 IN TXT %s' % (zname(k), txt_cut(v))
                          for k, v in keys])
                loaded = keys
            with open(path, 'rb') as f:
                msg = f.read()
            res = d.send(msg, helo='mta.am-conformance-server',
                         mailfrom='<>', client_addr='192.0.2.1',
                         queue_id='D%s' % name[:12])
            got = dkim_results(res)
            ok = not isinstance(got, str)
            for sel, acc, py, note in exps:
                rs = got.get(sel, ['absent']) if ok else [got]
                good = all(r in acc for r in rs)
                if not good or os.environ.get('SPF_VERBOSE'):
                    print('%s %s s=%s: got %s want %s [%s]' %
                          ('ok' if good else 'FAIL', name, sel,
                           ','.join(rs), ','.join(acc), note))
                ok = ok and good
            if name in xfail:
                print('%s %s (%s)' % ('XPASS' if ok else 'XFAIL', name,
                                      xfail[name]))
                ok = not ok
            npass += ok
            nfail += not ok
    finally:
        rc = d.stop()
        front.close()
        nsd.stop()
    if rc != 0:
        print('authmilter: exit status %s after SIGTERM' % rc)
        nfail += 1
    if d.history_errors():
        print('authmilter: %s' % d.history_errors()[0])
        nfail += 1
    print('%d passed, %d failed' % (npass, nfail))
    return 0 if nfail == 0 else 1


if __name__ == '__main__':
    # a SIGTERM still stops nsd and the daemon (the finally in main)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
