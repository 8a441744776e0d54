#!/usr/bin/python3
"""walk_diff.py - RFC 9989 DNS tree walk: authmilter (dmarc_eval, tree-walk
mode, the daemon's default when PublicSuffixList is not set) against
mailauth@7.1.0 on a generated corpus served by a real nsd.

Usage: walk_diff.py N SEED DMARC_EVAL NODE_MODULES_DIR WORKDIR EXPECTED
  N cases from SEED (random.Random: the same corpus every time).  Every
  case lives under its own top-level labels (t<i>., u<i>.), so one root
  zone in one nsd on a loopback port serves the whole corpus and no case
  sees another's records.  dmarc_eval asks nsd through libunbound (as the
  daemon does, forwarding to it); mailauth7_walk.js through Node's
  resolver pointed at the same nsd.
  EXPECTED (walk_expected) lists the disagreements that the text explains:
  a disagreement is explained only when its rule (below, by id) matches the
  case and the fields that differ, and the file has that id with the text.

Compared per case: the result (pass/fail/none/...); the org domain of the
author domain; for pass and fail the policy domain (where the record that
applies was published); for fail the disposition (the policy after t=y).

The corpus: author domains of 1 to 11 labels (a.b.c.ex.t7), records at the
author domain, at intermediate names (also ones a walk of 8+ labels skips),
at the org-ish name and at the top-level name (mostly psd=y), with psd=y/n/u,
p/sp/np (now and then missing or invalid, with or without rua), t=y/n,
adkim/aspf=s/r, now and then a second DMARC record or a non-DMARC TXT at the
same name, a record split in two character-strings; the author domain
exists (A), exists without an A (MX only; only a name below it: an empty
non-terminal), does not exist (NXDOMAIN), or is a CNAME (to an existing
name, or dangling); SPF and DKIM identifiers at the author domain, above,
beside and below it, in another org and in another top-level name, now and
then in upper case.
Prints the disagreements, "tree walk agreement with mailauth@7.1.0: a/n
(e more explained)", then "N passed, N failed" (a failure: a disagreement
that no rule explains, or an oracle that did not answer for a case).
"""
import json
import os
import random
import re
import subprocess
import sys

from nsd_zone import start_nsd, stop_nsd

LABELS = ['a', 'b', 'c', 'mail', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']
POLS = ['none', 'quarantine', 'reject']


# ---------------------------------------------------------------- corpus

def record(r, role, org):
    """one DMARC record; role: 'author', 'mid', 'org', 'top', 'id'"""
    tags = []
    x = r.random()
    if x < 0.88:
        tags.append('p=' + r.choice(POLS))
    elif x < 0.94:
        tags.append('p=bogus')
    # else: no p at all
    if r.random() < 0.35:
        tags.append('sp=' + r.choice(POLS))
    x = r.random()
    if x < 0.45:
        tags.append('np=' + r.choice(POLS))
    elif x < 0.47:
        tags.append('np=bogus')
    x = r.random()
    if role == 'top':
        if x < 0.8:
            tags.append('psd=y')
    elif x < 0.2:
        tags.append('psd=n')
    elif x < 0.25:
        tags.append('psd=y')
    elif x < 0.3:
        tags.append('psd=u')
    x = r.random()
    if x < 0.15:
        tags.append('t=y')
    elif x < 0.2:
        tags.append('t=n')
    for tag in ('adkim', 'aspf'):
        x = r.random()
        if x < 0.2:
            tags.append(tag + '=s')
        elif x < 0.3:
            tags.append(tag + '=r')
    if r.random() < 0.3:
        tags.append('rua=mailto:rua@' + org)
    r.shuffle(tags)
    return '; '.join(['v=DMARC1'] + tags)


def add(records, name, rtype, rdata):
    records.setdefault(name, [])
    if (rtype, rdata) not in records[name]:
        records[name].append((rtype, rdata))


def case(r, i):
    top, other_top = 't%d' % i, 'u%d' % i
    org = 'ex.' + top
    k = r.choice([0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9])
    author = '.'.join(r.sample(LABELS, k) + [org]) if r.random() > 0.03 \
        else top
    chain = []                      # the author domain and its parents
    labels = author.split('.')
    for j in range(len(labels)):
        chain.append('.'.join(labels[j:]))
    records = {}
    feats = set()
    for name in chain:
        role = 'author' if name == author else 'top' if name == top else \
            'org' if name == org else 'mid'
        prob = {'author': 0.3, 'mid': 0.25, 'org': 0.6, 'top': 0.35}[role]
        if r.random() >= prob:
            continue
        add(records, '_dmarc.' + name, 'TXT', record(r, role, org))
        if r.random() < 0.1:
            add(records, '_dmarc.' + name, 'TXT', record(r, role, org))
            feats.add('several')
        if r.random() < 0.1:
            add(records, '_dmarc.' + name, 'TXT', 'v=spf1 -all')
    # does the author domain exist?  (RFC 9989 3.2.13, A.4)
    x = r.random()
    if x < 0.3:
        add(records, author, 'A', '192.0.2.1')
    elif x < 0.38:
        add(records, author, 'MX', '10 mx.' + other_top + '.')
    elif x < 0.45:
        add(records, 'below.' + author, 'A', '192.0.2.2')
    elif x < 0.5 and author != top:
        add(records, author, 'CNAME', 'host.' + org + '.')
        add(records, 'host.' + org, 'A', '192.0.2.3')
    elif x < 0.55 and author != top:
        add(records, author, 'CNAME', 'gone.' + other_top + '.')
        feats.add('dangling-cname')
    # identifiers: the author domain, above, beside, below, elsewhere
    cands = chain + ['x.' + r.choice(chain), 'y.' + author, 'other.' + top,
                     'far.' + other_top, 'z.y.' + r.choice(chain)]
    for name in ('other.' + top, 'x.' + org):
        if r.random() < 0.15:
            add(records, '_dmarc.' + name, 'TXT', record(r, 'id', name))
    # now and then in upper case (RFC 4343: the same name)
    cands += [x.upper() for x in r.sample(cands, 2)]
    spf = r.choice(['pass', 'fail'])
    spfdom = r.choice(cands)
    dkim = [(r.choice(['pass', 'pass', 'fail']), r.choice(cands))
            for _ in range(r.randrange(0, 3))]
    return {'name': 'w%05d' % i, 'from': author, 'records': records,
            'spf': spf, 'spfdom': spfdom, 'dkim': dkim, 'feats': sorted(feats),
            'spfDomains': [spfdom] if spf == 'pass' else [],
            'dkimDomains': [d for res, d in dkim if res == 'pass']}


# ---------------------------------------------------------------- rules
#
# A rule says when a disagreement is the text's doing, not a defect: the
# case has the construct, and the fields differ exactly as the rule says.
# The text that shows who is right is in walk_expected, under the same id.

def rec_at(c, name):
    return [t for ty, t in c['records'].get('_dmarc.' + name, [])
            if ty == 'TXT' and re.match(r'^v=DMARC1\s*(;|$)', t)]


def tags(txt):
    out = {}
    for part in txt.split(';')[1:]:
        if '=' in part:
            k, v = part.split('=', 1)
            out.setdefault(k.strip(), v.strip())
    return out


def rule_no_p(c, ours, theirs):
    """the record that applies has no p tag: we read it as p=none with its
    sp/np kept (4.7 "p"); mailauth@7.1.0 as a record without a valid p
    (4.10.1): p=none alone with a valid rua, no DMARC without one"""
    pd = ours['policy_domain']
    recs = rec_at(c, pd) if pd != '-' else []
    if len(recs) != 1 or 'p' in tags(recs[0]):
        return False
    if 'rua' not in tags(recs[0]):
        return ours['result'] in ('pass', 'fail') and \
            theirs['result'] == 'none'
    return ours['result'] == 'fail' and theirs['result'] == 'fail' and \
        differs(ours, theirs) == ['disposition'] and \
        theirs['disposition'] == 'none'


RULES = {
    'no-p': rule_no_p,
}


def load_expected(path):
    """id -> text block of walk_expected"""
    out, cur = {}, None
    for line in open(path):
        m = re.match(r'^\[([a-z0-9-]+)\]\s*$', line)
        if m:
            cur = m.group(1)
            out[cur] = ''
        elif cur is not None:
            out[cur] += line
    return out


# ---------------------------------------------------------------- main

def parse_ours(text):
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 7:
            out[f[0]] = {'result': f[1], 'policy_domain': f[4],
                         'org_domain': f[5], 'disposition': f[6]}
            out[f[0]]['_tag'] = f[3]
    return out


def parse_theirs(text):
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 5:
            out[f[0]] = {'result': f[1], 'policy_domain': f[2],
                         'org_domain': f[3], 'disposition': f[4]}
    return out


def coverage(cases, o):
    """what the corpus exercised, by authmilter's reading of it"""
    cov = {}

    def count(k, cond):
        cov[k] = cov.get(k, 0) + (1 if cond else 0)
    for c in cases:
        a = o.get(c['name'])
        if a is None:
            continue
        top = c['from'].split('.')[-1]
        walk = [n for n in c['records'] if n.startswith('_dmarc.') and
                (c['from'] + '.').endswith('.' + n[7:] + '.') or
                n == '_dmarc.' + c['from']]
        count('result ' + a['result'], True)
        count('author domain of 8+ labels', c['from'].count('.') >= 7)
        nl = c['from'].count('.') + 1
        count('a record at a name the 8-query walk skips', nl > 8 and any(
            7 < n.count('.') < nl for n in walk if n != '_dmarc.' + c['from']))
        count('policy from the author domain', a['policy_domain'] == c['from'])
        count('policy from a parent (sp/np/p)',
              a['policy_domain'] not in ('-', c['from']))
        count('policy from a PSD (psd=y)', a['policy_domain'] == top and
              c['from'] != top)
        count('org domain below the policy domain (psd=y)',
              a['policy_domain'] != '-' and a['org_domain'] != '-' and
              a['org_domain'].endswith('.' + a['policy_domain']))
        count('org domain from psd=n', any('psd=n' in t for n in walk
                                           for ty, t in c['records'][n]))
        count('np applied', a['_tag'] == 'np')
        count('sp applied', a['_tag'] == 'sp')
        count('t=y on a fail', a['result'] == 'fail' and
              any('t=y' in t for ty, t in c['records'].get(
                  '_dmarc.' + a['policy_domain'], [])))
        count('several DMARC records at a walked name',
              'several' in c['feats'])
        count('dangling CNAME author domain', 'dangling-cname' in c['feats'])
        count('a record on the author domain path, not applied',
              any(n not in ('_dmarc.' + c['from'],
                            '_dmarc.' + a['policy_domain']) for n in walk))
        count('pass with an identifier other than the author domain',
              a['result'] == 'pass' and (
                  c['spfdom'] != c['from'] or
                  any(d != c['from'] for d in c['dkimDomains'])))
    return cov


def differs(a, b):
    """the fields that differ (see the module text for which count)"""
    out = []
    a = {k: v for k, v in a.items() if not k.startswith('_')}
    if a['result'] != b['result']:
        return ['result']
    if a['org_domain'] != b['org_domain']:
        out.append('org_domain')
    if a['result'] in ('pass', 'fail') and \
            a['policy_domain'] != b['policy_domain']:
        out.append('policy_domain')
    if a['result'] == 'fail' and a['disposition'] != b['disposition']:
        out.append('disposition')
    return out


def main():
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    prog, mods, work, expected = sys.argv[3:7]
    texts = load_expected(expected)
    missing = [k for k in RULES if k not in texts]
    unused = [k for k in texts if k not in RULES]
    if missing or unused:
        print('walk_expected and the rules disagree: missing %s, no rule '
              'for %s' % (missing, unused))
        print('0 passed, 1 failed')
        return
    r = random.Random(seed)
    cases = [case(r, i) for i in range(n)]
    with open(work + '/walk.lines', 'w') as f:
        for c in cases:
            dk = ','.join('%s:%s' % x for x in c['dkim']) or '-'
            f.write('C\t%s\t%s\t%s\t%s\t%s\n' % (c['name'], c['from'],
                                                 c['spf'], c['spfdom'], dk))
    with open(work + '/walk.json', 'w') as f:
        json.dump(cases, f, indent=1)
    nsd, port = start_nsd(work, [c['records'] for c in cases])
    try:
        ours = subprocess.run([prog, '--ns', '127.0.0.1@%d' % port,
                               work + '/walk.lines'], capture_output=True,
                              text=True, timeout=600)
        theirs = subprocess.run(['node', os.path.join(work,
                                                      'mailauth7_walk.js'),
                                 mods, str(port)],
                                input=json.dumps(cases), capture_output=True,
                                text=True, timeout=600)
    finally:
        stop_nsd(nsd)
    for p, what in ((ours, 'dmarc_eval'), (theirs, 'mailauth@7.1.0')):
        if p.returncode != 0:
            print('   %s exited %d' % (what, p.returncode))
        for line in p.stderr.splitlines()[-20:]:
            print('   %s: %s' % (what, line))
    o, t = parse_ours(ours.stdout), parse_theirs(theirs.stdout)
    agree = expl = 0
    seen = {}
    for c in cases:
        a, b = o.get(c['name']), t.get(c['name'])
        if a is None or b is None:
            print('   NO ANSWER %s: ours %s, mailauth@7.1.0 %s' %
                  (c['name'], a, b))
            continue
        fields = differs(a, b)
        if not fields:
            agree += 1
            continue
        why = [k for k, f in RULES.items() if f(c, a, b)]
        head = 'explained (%s)' % why[0] if why else 'DIFFERS'
        if why:
            expl += 1
            seen[why[0]] = seen.get(why[0], 0) + 1
        print('   %s %s [%s]: from %s; ours %s; mailauth@7.1.0 %s' %
              (head, c['name'], ','.join(fields), c['from'],
               ' '.join(v for k, v in a.items() if k[0] != '_'),
              ' '.join(b.values())))
        if not why:
            print('      spf %s:%s dkim %s' % (c['spf'], c['spfdom'],
                                               c['dkim']))
            for name, rrs in sorted(c['records'].items()):
                for rtype, rdata in rrs:
                    print('      %s %s %s' % (name, rtype, rdata))
    print('   corpus: ' + '; '.join('%s %d' % kv for kv in
                                      sorted(coverage(cases, o).items())))
    for k, cnt in sorted(seen.items()):
        print('   %d explained by [%s]: %s' % (cnt, k,
                                             texts[k].strip().split('\n')[0]))
    print('tree walk agreement with mailauth@7.1.0: %d/%d (%d more '
          'explained)' % (agree, n, expl))
    print('%d passed, %d failed' % (agree + expl, n - agree - expl))


main()
