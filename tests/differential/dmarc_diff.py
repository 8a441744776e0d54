#!/usr/bin/python3
"""dmarc_diff.py - random DMARC cases through authmilter (dmarc_eval, RFC
7489 mode with the Public Suffix List) and mailauth@4 (also PSL-based).
Every record is served by a real nsd on a loopback port (nsd_zone.py):
dmarc_eval forwards to it through libunbound, mailauth@4 asks it through
Node's resolver, Mail::DMARC through Net::DNS.  Each case has registered
domains of its own (c7-example.co.uk, ...), so one zone serves them all.

Usage: dmarc_diff.py N SEED DMARC_EVAL NODE_MODULES_DIR WORKDIR [perl]
Prints disagreements and "DMARC agreement with mailauth@4: a/n", then
"N passed, N failed" where a failure is an unexplained disagreement.
With "perl" as the last argument the reference is Mail::DMARC::PurePerl
(libmail-dmarc-perl, mail_dmarc.pl beside this file) instead, and the
cases then include adkim=s / aspf=s, which it implements.

Compared: the result (pass/fail/none) and, for fail, the policy that
applies (p or sp).

Some cases have two DMARC records at the author domain.  RFC 7489 6.6.3
asks the organizational domain only "If the set is now empty" (step 3),
and "If the remaining set contains multiple records or no records, policy
discovery terminates and DMARC processing is not applied" (step 5): no
DMARC.  authmilter and Mail::DMARC do that; mailauth@4 asks the org domain
instead (its getDmarcRecord() treats several records like none), so where
the org domain has a record it differs: listed as explained, not counted
as a failure.  Left out of the generated cases, because mailauth@4
does not implement them: adkim=s/aspf=s (its getAlignment() receives an
object as "strict", so strict mode is never plain), np and psd (RFC 9989),
and syntax errors in records (it takes any text after v=DMARC1).
"""
import json
import random
import subprocess
import sys

from nsd_zone import start_nsd, stop_nsd

SUFFIXES = ['com', 'co.uk', 'org']


def case(r, i, strict):
    orgs = ['c%d-example.%s' % (i, x) for x in SUFFIXES]
    org = r.choice(orgs)
    frm = r.choice([org, 'sub.' + org, 'a.b.' + org])
    records = {}
    pols = ['none', 'quarantine', 'reject']
    if r.random() < 0.35:
        records['_dmarc.' + frm] = ['v=DMARC1; p=%s' % r.choice(pols)]
        if r.random() < 0.25:       # several records (RFC 7489 6.6.3)
            records['_dmarc.' + frm].append(
                'v=DMARC1; p=%s; rua=mailto:d@%s' % (r.choice(pols), org))
    if r.random() < 0.75:
        rec = 'v=DMARC1; p=%s' % r.choice(pols)
        if r.random() < 0.5:
            rec += '; sp=%s' % r.choice(pols)
        # each tag at most once (a repeated tag: first or last wins,
        # implementations differ and the RFCs do not say)
        for tag in ('adkim', 'aspf'):
            v = r.choice(['', '', 'r'] + (['s', 's'] if strict else []))
            if v:
                rec += '; %s=%s' % (tag, v)
        records.setdefault('_dmarc.' + org, []).append(rec)
    if r.random() < 0.1:
        records.setdefault('_dmarc.' + org, []).append('v=spf1 -all')
    # an RRset holds no duplicates (RFC 2181 5): as DNS would serve them
    records = {k: list(dict.fromkeys(v)) for k, v in records.items()}
    cands = [org, 'bounce.' + org, frm, 'c%d-other.net' % i,
             'c%d-example.net' % i, 'x.' + r.choice(orgs)]
    spf = r.choice(['pass', 'fail'])
    spfdom = r.choice(cands)
    dkim = [(r.choice(['pass', 'fail']), r.choice(cands))
            for _ in range(r.randrange(0, 3))]
    several = frm != org and len(records.get('_dmarc.' + frm, [])) > 1
    # the From domain exists (Mail::DMARC checks that first)
    zone = {k: [('TXT', t) for t in v] for k, v in records.items()}
    zone[frm] = [('A', '192.0.2.1')]
    return {'name': 'm%05d' % i, 'from': frm, 'records': records,
            'several_author': several, 'zone': zone,
            'spf': spf, 'spfdom': spfdom, 'dkim': dkim,
            'spfDomains': [spfdom] if spf == 'pass' else [],
            'dkimDomains': [d for res, d in dkim if res == 'pass']}


def main():
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    prog, mods, work = sys.argv[3], sys.argv[4], sys.argv[5]
    perl = len(sys.argv) > 6 and sys.argv[6] == 'perl'
    r = random.Random(seed)
    cases = [case(r, i, perl) for i in range(n)]
    with open(work + '/dmarc.lines', 'w') as f:
        for c in cases:
            dk = ','.join('%s:%s' % x for x in c['dkim']) or '-'
            f.write('C\t%s\t%s\t%s\t%s\t%s\n' % (c['name'], c['from'],
                                                 c['spf'], c['spfdom'], dk))
            for name, txts in c['records'].items():
                for t in txts:          # one TXT record each
                    f.write('R\t%s. 300 IN TXT "%s"\n' % (name, t))
    ref = 'Mail::DMARC' if perl else 'mailauth@4'
    nsd, port = start_nsd(work + '/' + ('perl' if perl else 'node'),
                          [c['zone'] for c in cases])
    try:
        ours = subprocess.run([prog, '--rfc7489', '--ns',
                               '127.0.0.1@%d' % port, work + '/dmarc.lines'],
                              capture_output=True, text=True, check=True,
                              timeout=600).stdout
        cmd = ['perl', work + '/mail_dmarc.pl', str(port)] if perl else \
            ['node', work + '/mailauth_dmarc.js', mods, str(port)]
        theirs = subprocess.run(cmd, input=json.dumps(cases),
                                capture_output=True, text=True,
                                check=True, timeout=600).stdout
    finally:
        stop_nsd(nsd)
    o = {l.split()[0]: l.split()[1:] for l in ours.splitlines()}
    t = {l.split()[0]: l.split()[1:] for l in theirs.splitlines()}
    agree = expl = 0
    for c in cases:
        a, b = o.get(c['name']), t.get(c['name'])
        same = a is not None and b is not None and a[0] == b[0] and \
            (a[0] != 'fail' or a[1] == b[1])
        if same:
            agree += 1
        elif not perl and a is not None and b is not None and \
                c['several_author'] and a[0] == 'none':
            expl += 1
            print('   explained %s: ours %s, %s %s; several records at '
                  '%s: RFC 7489 6.6.3 steps 3, 5 (none), mailauth@4 asks '
                  'the org domain' % (c['name'], a[:2], ref, b, c['from']))
        else:
            print('   DIFFERS %s: ours %s, %s %s; from %s spf %s:%s '
                  'dkim %s records %s' % (c['name'], a, ref, b, c['from'],
                                          c['spf'], c['spfdom'], c['dkim'],
                                          c['records']))
    nsev = sum(1 for c in cases if c['several_author'])
    print('DMARC agreement with %s: %d/%d (%d more explained; %d cases with '
          'several records at the author domain)' % (ref, agree, n, expl,
                                                    nsev))
    print('%d passed, %d failed' % (agree + expl, n - agree - expl))


main()
