#!/usr/bin/python3
"""spf_yaml2lines.py - an openspf YAML test suite as simple lines for spf_suite.

Usage: spf_yaml2lines.py SUITE.yml > SUITE.lines

Zone semantics follow the suite's own conventions (as its reference harness
reads them): an SPF entry is also served as TXT unless the name has a TXT
entry; "TXT: NONE" means no TXT; TIMEOUT makes every query for a type not
listed before it time out; a name starting with "error." that has no data
times out.  Output, one item per line, fields separated by a TAB, each field
%XX-encoded (bytes outside 0x21..0x7e, '%'):
    S  scenario-description
    R  zone-file line for local data (name TTL IN TYPE rdata)
    T  name                      (queries not answered by R lines time out)
    Z  name     a name with data below a T name: answered from data only
    X  test host helo mailfrom results(comma-separated) explanation("" if none)
"""
import sys
import yaml


def enc(s):
    b = s.encode('utf-8')
    return ''.join(chr(c) if 0x21 <= c <= 0x7e and c != 0x25 else '%%%02X' % c
                   for c in b)


def field(s):
    e = enc(s)
    return e if e else '-'      # '-' is the empty field


def zname(name):
    """a domain name in zone-file syntax, odd bytes as \\DDD"""
    out = []
    for c in name.encode('utf-8'):
        ch = chr(c)
        if ch.isalnum() or ch in '-_.':
            out.append(ch)
        else:
            out.append('\\%03d' % c)
    return ''.join(out).rstrip('.') + '.'


def zstr(s):
    """one TXT character-string, quoted, odd bytes as \\DDD, split at 255"""
    b = s.encode('utf-8')
    parts = [b[i:i + 255] for i in range(0, len(b), 255)] or [b'']
    res = []
    for p in parts:
        q = ''.join(chr(c) if 0x20 <= c <= 0x7e and chr(c) not in '"\\'
                    else '\\%03d' % c for c in p)
        res.append('"%s"' % q)
    return ' '.join(res)


def rdata(t, v):
    if t in ('TXT', 'SPF'):
        if isinstance(v, str):
            v = [v]
        return ' '.join(zstr(s) for s in v) if v else '""'
    if t == 'MX':
        return '%d %s' % (v[0], zname(v[1]) if v[1] else '.')
    if t in ('PTR', 'CNAME'):
        return zname(v)
    return str(v)


def records(recs):
    """([(type, value)], timeout) for one name, in the suite's order"""
    out, gen, has_txt, timeout = [], [], False, False
    for r in recs:
        if r == 'TIMEOUT':
            timeout = True
            break
        for t, v in r.items():
            if t == 'TXT':
                has_txt = True
            if v == 'NONE':
                continue
            if t == 'SPF':
                gen.append(v)
                continue        # type 99 is never asked (RFC 7208 3.1)
            out.append((t, v))
    # with TIMEOUT, generated TXT records come after it: never reached
    if not has_txt and not timeout:
        out += [('TXT', v) for v in gen]
    return out, timeout


def flatten(data):
    """A CNAME to a name with data answers with that data, as a recursive
    resolver's answer would (libunbound does not chase CNAMEs between
    local-data names); a CNAME to nothing or to a CNAME stays."""
    res = {}
    for name, (recs, timeout) in data.items():
        out = []
        for t, v in recs:
            target = str(v).lower().rstrip('.') if t == 'CNAME' else None
            trecs = data.get(target, ([], False))[0] if target else []
            if trecs and not any(tt == 'CNAME' for tt, _ in trecs):
                out += trecs
            else:
                out.append((t, v))
        res[name] = (out, timeout)
    return res


def main():
    for doc in yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')):
        if not doc:
            continue
        print('S\t' + field(doc.get('description', '')))
        zd = doc.get('zonedata') or {}
        data = flatten({name.lower(): records(recs)
                        for name, recs in zd.items()})
        tnames = []
        for name, (recs, timeout) in data.items():
            for t, v in recs:
                print('R\t' + field('%s 300 IN %s %s' %
                                     (zname(name), t, rdata(t, v))))
            if timeout:
                print('T\t' + field(zname(name)))
                tnames.append(name)
        for name in data:
            if any(name.endswith('.' + t) for t in tnames):
                print('Z\t' + field(zname(name)))
        for tname, t in doc['tests'].items():
            res = t['result']
            if isinstance(res, str):
                res = [res]
            print('\t'.join(['X', field(tname), field(t.get('host', '')),
                             field(t.get('helo', '')),
                             field(t.get('mailfrom', '')),
                             field(','.join(res)),
                             field(t.get('explanation', ''))]))


if __name__ == '__main__':
    main()
