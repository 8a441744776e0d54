#!/usr/bin/python3
"""spf_milter.py - an openspf YAML suite through the real daemon and a
real authoritative name server (the conformance tier's "real" mode).

Usage: spf_milter.py AUTHMILTER WORKDIR SUITE.yml [TEST...]

One nsd and one authmilter for the whole suite (realdns.py,
amdaemon.py): for each scenario nsd is given the scenario's zone data
(TTL 0) and reloaded; the relay in front of it leaves the TIMEOUT names
unanswered.  Each test is one milter connection (connect with the test's
client address, HELO, MAIL FROM, a small message); the result is the
spf=... entry with smtp.mailfrom in the A-R the daemon adds, compared
with the suite's acceptable results.  The explanation (exp=) is not
written by the daemon anywhere, so it is compared in the local-data mode
only (spf_suite).

Prints one line per failing test ("FAIL suite/test: ..."), a line per
zone record nsd refuses, and ends with "N passed, N failed".  Names in
expected-failures (mode "real") count as passed only if they fail, and
their line says XFAIL; one that passes is a failure ("XPASS": take it off
the list).
"""
import os
import signal
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from amdaemon import Daemon, ar_results, our_ar  # noqa: E402
from realdns import Front, Nsd, nsd_accepts  # noqa: E402
from spf_yaml2lines import rdata, records, zname  # noqa: E402

FROM_DOMAIN = 'from.am-conformance-server'     # no DMARC record: none
MESSAGE = ('From: <user@%s>\r\nTo: <rcpt@example.net>\r\n'
           'Subject: conformance\r\nMessage-ID: <c@%s>\r\n\r\nbody\r\n'
           % (FROM_DOMAIN, FROM_DOMAIN)).encode()


def expected_failures(mode):
    """{suite/test: reason} of expected-failures for this mode"""
    out = {}
    with open(os.path.join(HERE, 'expected-failures')) as f:
        for ln in f:
            if not ln.strip() or ln.startswith('#'):
                continue
            m, name, reason = ln.rstrip('\n').split(None, 2)
            if m == mode:
                out[name] = reason
    return out


def scenario_zone(zd):
    """(zone-file lines, timeout rules, served names) of one scenario"""
    lines, rules, served, tnames = [], [], [], []
    data = {name: records(recs) for name, recs in zd.items()}
    for name, (recs, timeout) in data.items():
        for t, v in recs:
            lines.append('%s 0 IN %s %s' % (zname(name), t, rdata(t, v)))
        if timeout:
            rules.append((zname(name), [t for t, _ in recs]))
            tnames.append(name.lower().rstrip('.'))
    for name in data:
        n = name.lower().rstrip('.')
        if any(n.endswith('.' + t) for t in tnames):
            served.append(zname(name))
    return lines, rules, served


def spf_result(res, mailfrom):
    """the daemon's spf result for MAIL FROM, or a text saying why none"""
    ar = our_ar(res)
    if ar is None:
        return 'no A-R (%s %s)' % (res.step, res.action)
    try:
        entries = ar_results(ar)
    except Exception as e:     # noqa: BLE001 - reported as the result
        return 'unparsable A-R %r: %s' % (ar, e)
    spf = [r for m, r, p in entries if m == 'spf' and 'smtp.mailfrom' in p]
    if len(spf) != 1:
        return 'no single spf smtp.mailfrom in %r' % ar
    return spf[0]


def probe_cache(d, nsd, front):
    """The method's premise: an answer of one scenario is never seen in
    the next (TTL 0 everywhere).  Serve three versions of one name in a
    row, each asked within the same second; a cached answer would show."""
    name = 'probe.am-conformance-server'
    steps = [(['%s. 0 IN TXT "v=spf1 -all"' % name], 'fail'),
             (['%s. 0 IN TXT "v=spf1 +all"' % name], 'pass'),
             ([], 'none'),
             (['%s. 0 IN TXT "v=spf1 ?all"' % name], 'neutral')]
    front.set_rules([], [])
    for lines, want in steps:
        nsd.load(lines)
        t = {'host': '1.2.3.4', 'helo': name, 'mailfrom': 'u@' + name,
             'result': want}
        ok, got, _ = run_test(d, 'probe', 'cache', t)
        if not ok:
            return 'cache probe: got %s want %s' % (got, want)
    return None


def run_test(d, suite, tname, t):
    host = t.get('host') or ''
    fam = 'U' if not host else ('6' if ':' in host else '4')
    mailfrom = t.get('mailfrom') or ''
    res = d.send(MESSAGE, client_addr=host, family=fam,
                 helo=t.get('helo') or '', mailfrom='<%s>' % mailfrom,
                 client_name='unknown', queue_id='C%s' % tname[:12],
                 timeout=30)
    got = spf_result(res, mailfrom)
    want = t['result'] if isinstance(t['result'], list) else [t['result']]
    return got in want, got, want


def main():
    binary, workdir, suite_file = sys.argv[1:4]
    only = set(sys.argv[4:])
    suite = os.path.basename(suite_file).rsplit('.', 1)[0]
    xfail = expected_failures('real')
    nsd = Nsd(os.path.join(workdir, 'nsd')).start()
    front = Front(nsd.port)
    d = Daemon(binary, workdir, '127.0.0.1@%d' % front.port).start()
    npass = nfail = 0
    try:
        why = probe_cache(d, nsd, front)
        if why is not None:
            print('FAIL %s (the real mode cannot be trusted)' % why)
            nfail += 1
        for doc in yaml.safe_load_all(open(suite_file, encoding='utf-8')):
            if not doc:
                continue
            tests = {k: v for k, v in doc['tests'].items()
                     if not only or k in only}
            if not tests:
                continue
            lines, rules, served = scenario_zone(doc.get('zonedata') or {})
            good, bad = nsd_accepts(nsd.dir, lines)
            for ln in bad:
                print('nsd refuses (%s): %s' % (doc.get('description'), ln))
            nsd.load(good)
            front.set_rules(rules, served)
            for tname, t in tests.items():
                ok, got, want = run_test(d, suite, tname, t)
                key = '%s/%s' % (suite, tname)
                if key in xfail:
                    tag = 'XFAIL' if not ok else 'XPASS'
                    ok = not ok
                    print('%s %s: got %s want %s (%s)' %
                          (tag, key, got, ','.join(want), xfail[key]))
                elif not ok or os.environ.get('SPF_VERBOSE'):
                    print('%s %s: got %s want %s' %
                          ('ok' if ok else 'FAIL', key, got, ','.join(want)))
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
