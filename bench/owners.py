#!/usr/bin/python3
"""bench/owners.py - where a process's CPU goes, by owner (issue 17).

Reads `perf script` output of a call-graph profile (perf record -g or
--call-graph dwarf) on standard input and charges each sample to one owner:
the library of its leaf frame ("the kernel" for kernel frames); a leaf in
the C library (malloc, memcpy, printf, ...) to the first caller outside it,
so that libc's time is counted where it was asked for.  Prints a markdown
table: each owner's share of the samples and, given the process's CPU per
message (--ms, e.g. scripts/bench's "milter CPU ms/msg" of the same run),
its ms per message.  The last two lines add up the libraries and the
kernel, and the program's own code (--self, default authmilter).

    perf record -F 499 --call-graph dwarf,16384 -p PID -o perf.data -- sleep 6
    perf script -i perf.data | bench/owners.py --ms 0.301

The profiled program's own share is what work on its code can change; the
rest is the libraries it is built on and the kernel (bench/RESULTS.md,
session 11).
"""
import argparse
import collections
import re
import sys

# a frame line of perf script: address, symbol (+offset), (dso)
FRAME = re.compile(r'^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$')
# the C library and its helpers: their time goes to their caller
LIBC = ('libc.so', 'libc-', 'ld-linux', '[vdso]', 'libbsd.so', 'libpthread')


def dso_name(dso):
    """The short name of a frame's object: "libfoo", "authmilter", ..."""
    base = dso.rsplit('/', 1)[-1]
    m = re.match(r'(lib[A-Za-z0-9_+-]*?)(\.so.*|-[0-9].*)?$', base)
    return m.group(1) if m else base


def is_libc(dso):
    return any(k in dso for k in LIBC)


def resolve_inlined(frames):
    """perf names an inlined frame's object "inlined": use the next real one."""
    out = []
    for i, (sym, dso) in enumerate(frames):
        if dso == 'inlined':
            dso = next((d for _, d in frames[i + 1:] if d != 'inlined'), dso)
        out.append((sym, dso))
    return out


def owner(frames):
    """The owner of one sample (its frames, leaf first)."""
    frames = resolve_inlined(frames)
    leaf = frames[0][1]
    if leaf.startswith('[kernel'):
        return 'the kernel'
    if not is_libc(leaf):
        return dso_name(leaf)
    for _, dso in frames[1:]:
        if not is_libc(dso) and dso != '[unknown]':
            return dso_name(dso) + ' (libc under it)'
    return 'libc (caller unknown)'


def samples(lines):
    """Each sample's frames, leaf first."""
    frames = []
    for line in lines:
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        m = FRAME.match(line)
        if m:
            frames.append((m.group(1), m.group(2)))
    if frames:
        yield frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ms', type=float, help='CPU ms per message of the run')
    ap.add_argument('--self', default='authmilter',
                    help="the program's own object (default authmilter)")
    a = ap.parse_args()
    count = collections.Counter(owner(f) for f in samples(sys.stdin))
    total = sum(count.values())
    if total == 0:
        sys.exit('owners.py: no samples with call chains on standard input')
    own = sum(v for k, v in count.items() if k.split(' ')[0] == a.self)

    def row(name, n):
        ms = ' %.3f |' % (a.ms * n / total) if a.ms else ''
        return '| %s | %.1f %% |%s' % (name, 100.0 * n / total, ms)

    print('| owner | share |' + (' ms/msg |' if a.ms else ''))
    print('|---|---:|' + ('---:|' if a.ms else ''))
    for name, n in count.most_common():
        print(row(name, n))
    print(row('**the libraries and the kernel**', total - own))
    print(row('**%s\'s own code (and libc under it)**' % a.self, own))
    print('%d samples' % total)


if __name__ == '__main__':
    main()
