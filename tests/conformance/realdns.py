"""realdns.py - a real authoritative DNS path for the conformance tier.

One nsd (Debian's nsd, unprivileged, loopback) serves a root zone "." that
is rewritten and reloaded (SIGHUP; nsd reads a zone file whose mtime
changed) for every scenario; the harness waits until nsd answers with the
new SOA serial.  Every record has TTL 0 and the SOA minimum is 0, so
neither libunbound nor authmilter's answer cache (dns_cache.h: a TTL of 0
is never cached) keeps an answer from one scenario to the next; the
harness checks that at start (probe_cache in spf_milter.py).

In front of nsd sits Front, a relay on another loopback port: it hands
every query to nsd unchanged and nsd's answer back unchanged (UDP and
TCP), except for the names a scenario says time out (the suite's TIMEOUT
entries), which it never answers.  nsd cannot express "this name times
out for some types"; everything else (several strings per TXT, empty
strings, odd case in names, several PTR names, CNAME chains) is nsd's
own answer, byte for byte.

Python 3 stdlib + Debian's python3-dnspython (only to read questions and
serials, never to build an answer) and nsd.
"""
import os
import sys
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import dns.message
import dns.name
import dns.query
import dns.rdatatype
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from loopnsd import NSD_CONF, free_port  # noqa: E402

NSD = shutil.which('nsd') or '/usr/sbin/nsd'
CHECKZONE = shutil.which('nsd-checkzone') or '/usr/sbin/nsd-checkzone'
NS_NAME = 'ns.am-conformance-server.'   # the zone's own name server

def zone_text(serial, lines):
    head = ['$ORIGIN .', '$TTL 0',
            '. 0 IN SOA %s hostmaster.am-conformance-server. %d 3600 600 '
            '86400 0' % (NS_NAME, serial),
            '. 0 IN NS %s' % NS_NAME,
            '%s 0 IN A 127.0.0.1' % NS_NAME]
    return '\n'.join(head + list(lines)) + '\n'


def nsd_accepts(workdir, lines):
    """the zone-file lines nsd-checkzone takes, and those it refuses
    (each refused line checked alone)"""
    path = os.path.join(workdir, 'check.zone')

    def ok(ls):
        with open(path, 'w') as f:
            f.write(zone_text(1, ls))
        return subprocess.run([CHECKZONE, '.', path], capture_output=True
                              ).returncode == 0
    if ok(lines):
        return list(lines), []
    good, bad = [], []
    for ln in lines:
        (good if ok([ln]) else bad).append(ln)
    return good, bad


class Nsd:
    """nsd serving "." on 127.0.0.1:port; load() swaps the zone."""

    def __init__(self, workdir):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.zone = os.path.join(workdir, 'root.zone')
        self.serial = 1
        self.mtime = int(time.time()) - 100000
        self.port = None
        self.proc = None

    def _write(self, lines):
        with open(self.zone, 'w') as f:
            f.write(zone_text(self.serial, lines))
        # nsd rereads a zone file whose mtime changed: make it change
        self.mtime += 1
        os.utime(self.zone, (self.mtime, self.mtime))

    def start(self, timeout=10):
        self._write([])
        for _ in range(3):
            self.port = free_port()
            with open(os.path.join(self.dir, 'nsd.conf'), 'w') as f:
                f.write(NSD_CONF % {'dir': self.dir, 'port': self.port})
            log = open(os.path.join(self.dir, 'nsd.out'), 'ab')
            self.proc = subprocess.Popen(
                [NSD, '-c', os.path.join(self.dir, 'nsd.conf'), '-d'],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_serial(timeout):
                return self
            self.stop()
        raise RuntimeError('nsd did not start:\n' + self.log())

    def serving(self):
        """the SOA serial nsd answers with, or None"""
        q = dns.message.make_query('.', 'SOA')
        try:
            r = dns.query.udp(q, '127.0.0.1', port=self.port, timeout=0.3)
        except Exception:
            return None
        for rrset in r.answer:
            for rd in rrset:
                return rd.serial
        return None

    def _wait_serial(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if self.serving() == self.serial:
                return True
            time.sleep(0.005)
        return False

    def _servers(self):
        """pids of nsd's serving processes (children of its children)"""
        out = set()
        for c in _children(self.proc.pid):
            out |= _children(c)
        return out

    def load(self, lines, timeout=10):
        """serve exactly these zone-file lines (plus SOA and NS).

        A reload forks new serving processes; the old ones answer from the
        old zone until they exit, on the same sockets.  So wait for the
        new serial and for every old serving process to be gone: else a
        question right after load() can get the last scenario's answer."""
        old = self._servers()
        self.serial += 1
        self._write(lines)
        self.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + timeout
        if not self._wait_serial(timeout):
            raise RuntimeError('nsd did not load serial %d:\n%s' %
                               (self.serial, self.log()[-2000:]))
        while any(_alive(p) for p in old):
            if time.monotonic() > end:
                raise RuntimeError('nsd: old server %r still running' % old)
            time.sleep(0.002)

    def log(self):
        out = ''
        for n in ('nsd.out', 'nsd.log'):
            try:
                with open(os.path.join(self.dir, n), errors='replace') as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Front:
    """A relay in front of nsd that leaves some questions unanswered.

    rules: [(name, set of types answered)] - a question for name (or a
    name below it, unless in 'served') whose type is not in the set gets
    no answer at all, as the suite's TIMEOUT asks.  Everything else goes
    to nsd and back unchanged."""

    def __init__(self, upstream_port):
        self.up = upstream_port
        self.port = free_port()
        self.rules = []
        self.served = set()
        self.dropped = 0
        self.relayed = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(('127.0.0.1', self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(('127.0.0.1', self.port))
        self.tcp.listen(16)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def set_rules(self, rules, served):
        self.rules = [(dns.name.from_text(n), set(t)) for n, t in rules]
        self.served = {dns.name.from_text(n) for n in served}

    def _silent(self, wire):
        """should this query go unanswered?"""
        try:
            q = dns.message.from_wire(wire)
            qn, qt = q.question[0].name, q.question[0].rdtype
        except Exception:
            return False
        for name, types in self.rules:
            if qn == name:
                return dns.rdatatype.to_text(qt) not in types
            if qn.is_subdomain(name) and qn not in self.served:
                return True
        return False

    def _udp(self):
        wire, peer = self.udp.recvfrom(65535)
        if self._silent(wire):
            self.dropped += 1
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.sendto(wire, ('127.0.0.1', self.up))
            ans = s.recv(65535)
        except OSError:
            return
        finally:
            s.close()
        self.relayed += 1
        self.udp.sendto(ans, peer)

    def _tcp_one(self, c):
        try:
            c.settimeout(3)
            while True:
                hdr = _recvn(c, 2)
                if hdr is None:
                    return
                wire = _recvn(c, struct.unpack('!H', hdr)[0])
                if wire is None:
                    return
                if self._silent(wire):
                    self.dropped += 1
                    time.sleep(3)       # hold the connection, never answer
                    return
                with socket.create_connection(('127.0.0.1', self.up), 2) as u:
                    u.sendall(hdr + wire)
                    h = _recvn(u, 2)
                    a = _recvn(u, struct.unpack('!H', h)[0]) if h else None
                if a is None:
                    return
                self.relayed += 1
                c.sendall(h + a)
        except OSError:
            return
        finally:
            c.close()

    def _run(self):
        while not self.stopping:
            try:
                r, _, _ = select.select([self.udp, self.tcp], [], [], 0.2)
            except OSError:
                return
            if self.udp in r:
                try:
                    self._udp()
                except OSError:
                    pass
            if self.tcp in r:
                try:
                    c, _ = self.tcp.accept()
                except OSError:
                    continue
                threading.Thread(target=self._tcp_one, args=(c,),
                                 daemon=True).start()

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.udp.close()
        self.tcp.close()


def _children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return {int(x) for x in f.read().split()}
    except OSError:
        return set()


def _alive(pid):
    """running (a zombie waiting to be reaped no longer answers)"""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def _recvn(s, n):
    buf = b''
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf
