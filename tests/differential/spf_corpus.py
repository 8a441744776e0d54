#!/usr/bin/python3
"""spf_corpus.py - a random SPF corpus judged by pyspf, in the openspf suite
format, for the differential test (run through spf_suite like the suites).

Usage: spf_corpus.py N SEED EXPLAINED > corpus.yml

EXPLAINED receives the names of checks where pyspf applies a rule RFC 7208
does not have (one a line, with the reason): its "include has trivial
recursion" permerror for a record that includes itself, even when that
include is never evaluated (RFC 7208 5.2: an include's result comes from
evaluating it; 4.6.4 limits count evaluated terms).

Each scenario is a small random zone (records built from every mechanism
and modifier, CIDR lengths including 0 and bad ones, macros, includes,
redirects, explanations, an occasional syntax error) and a few random
checks; the expected result (and explanation of a fail) is what pyspf
(python3-spf, the reference implementation the suites were written for)
answers on the same data.
"""
import random
import socket
import sys

import spf
import yaml

DOMS = ['d%d.example.com' % i for i in range(8)]
HOSTS = ['192.0.2.%d' % i for i in range(1, 6)] + \
    ['2001:db8::%d' % i for i in range(1, 3)] + ['::ffff:192.0.2.3']


def rnd_dom(r):
    return r.choice(DOMS + ['nx.example.com', '%{d}', 'sub.%{d2}',
                            '%{i}.ok.example.com', '%{l1r-}.example.com'])


def rnd_cidr(r, four=True):
    c = r.choice(['', '', '', '/0', '/24', '/32', '/33', '/016'] if four
                 else ['', '', '//0', '//64', '//129'])
    return c


def rnd_term(r, depth):
    q = r.choice(['', '', '+', '-', '~', '?'])
    k = r.randrange(14)
    if k == 0:
        return q + 'ip4:192.0.2.%d%s' % (r.randrange(0, 8),
                                         r.choice(['', '/30', '/0', '/32']))
    if k == 1:
        return q + 'ip6:2001:db8::%s' % r.choice(['1', '/64', '2/128', '/0'])
    if k in (2, 3):
        d = r.choice(['', ':' + rnd_dom(r)])
        return q + 'a' + d + rnd_cidr(r) + rnd_cidr(r, False)
    if k == 4:
        d = r.choice(['', ':' + rnd_dom(r)])
        return q + 'mx' + d + rnd_cidr(r)
    if k == 5:
        return q + 'ptr' + r.choice(['', ':example.com', ':' + rnd_dom(r)])
    if k == 6:
        return q + 'exists:' + rnd_dom(r)
    if k == 7 and depth < 3:
        return q + 'include:' + r.choice(DOMS + ['nx.example.com'])
    if k == 8:
        return 'redirect=' + r.choice(DOMS + ['nx.example.com'])
    if k == 9:
        return 'exp=' + r.choice(['exp.example.com', 'exp2.example.com',
                                  'nx.example.com', 'exp.%{d2}'])
    if k == 10:
        return r.choice(['x-mod=%{d}', 'foo.bar=baz', 'a:bad_', 'a:foo',
                         'ip4:1.2.3', '%{z}', 'redirect:d1.example.com',
                         'exists:%(i).x.example.com'])
    return q + 'all'


def rnd_zone(r):
    zone = {}
    for d in DOMS:
        recs = []
        if r.random() < 0.9:
            terms = [rnd_term(r, 0) for _ in range(r.randrange(1, 6))]
            recs.append({'TXT': 'v=spf1 ' + ' '.join(terms)})
        for _ in range(r.randrange(0, 3)):
            recs.append({'A': r.choice(HOSTS[:5])})
        if r.random() < 0.3:
            recs.append({'AAAA': r.choice(HOSTS[5:7])})
        if r.random() < 0.4:
            recs.append({'MX': [10, r.choice(DOMS)]})
        if recs:
            zone[d] = recs
    zone['exp.example.com'] = [{'TXT': r.choice([
        'Not allowed: %{s} from %{c}', 'Sorry %{l}, see %{d}',
        'Bad %{x} macro', 'ip %{i} helo %{h}'])}]
    zone['exp2.example.com'] = [{'TXT': 'one'}, {'TXT': 'two'}]
    zone['192.0.2.1.ok.example.com'] = [{'A': '127.0.0.2'}]
    zone['1.2.0.192.in-addr.arpa'] = [{'PTR': 'd1.example.com'}]
    zone['3.2.0.192.in-addr.arpa'] = [{'PTR': 'd3.example.com'},
                                      {'PTR': 'other.example.net'}]
    return zone


def lookup_from(zone):
    table = {}
    for name, recs in zone.items():
        for rec in recs:
            for t, v in rec.items():
                table.setdefault((name.lower(), t), []).append(v)

    def dnslookup(name, qtype, tcpfallback=True, timeout=30):
        name = name.rstrip('.').lower()
        out = []
        for v in table.get((name, qtype), []):
            if qtype == 'AAAA':
                v = socket.inet_pton(socket.AF_INET6, v)
            elif qtype == 'TXT':
                v = (v.encode(),)
            elif qtype == 'MX':
                v = tuple(v)
            out.append(((name, qtype), v))
        return out
    return dnslookup


def main():
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    r = random.Random(seed)
    docs, done = [], 0
    explained = open(sys.argv[3], 'w')
    while done < n:
        zone = rnd_zone(r)
        spf.DNSLookup = lookup_from(zone)
        tests = {}
        for _ in range(min(5, n - done)):
            host = r.choice(HOSTS)
            dom = r.choice(DOMS + ['nx.example.com'])
            mf = r.choice(['user', 'strong-bad', 'a.b']) + '@' + dom
            q = spf.query(i=host, s=mf, h='mail.example.org', strict=True)
            q.set_default_explanation('DEFAULT')
            res, _, exp = q.check()
            res = {'unknown': 'permerror', 'error': 'temperror'}.get(res,
                                                                      res)
            t = {'host': host, 'mailfrom': mf, 'helo': 'mail.example.org',
                 'result': res}
            if res == 'fail':
                t['explanation'] = exp
            why = str(getattr(q, 'perm_error', '') or '')
            if 'trivial recursion' in why:
                explained.write('c%05d\tpyspf: %s\n' % (done, why))
            tests['c%05d' % done] = t
            done += 1
        docs.append({'description': 'random %d' % len(docs),
                     'tests': tests, 'zonedata': zone})
    yaml.safe_dump_all(docs, sys.stdout)


main()
