"""amdaemon.py - one real authmilter daemon for the conformance tier's
milter mode, and the A-R it writes (read with Debian's python3-authres).

The daemon is the built binary ($AUTHMILTER, default
$AUTHMILTER_BUILD/milter/authmilter), started in the foreground with a
configuration written here; its resolver forwards to the given name
server (realdns.Front).  Transactions go through the project's milter
client (tests/milter/milterclient.py), the way an MTA drives the filter.
"""
import os
import signal
import socket
import subprocess
import sys
import time

import authres

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'milter'))

from milterclient import run_transaction  # noqa: E402
from realdns import free_port  # noqa: E402

AUTHSERV_ID = 'mx.conformance.example'


class Daemon:
    def __init__(self, binary, workdir, nameserver, extra=()):
        self.binary = binary
        self.port = free_port()
        self.spec = 'inet:%d@127.0.0.1' % self.port
        self.conf = os.path.join(workdir, 'authmilter.conf')
        self.logfile = os.path.join(workdir, 'authmilter.log')
        settings = [
            ('Socket', self.spec),
            ('AuthservID', AUTHSERV_ID),
            ('Nameservers', nameserver),
            ('DNSTimeout', '1'),
            ('IgnoreHosts', '127.0.0.1'),
            ('RejectFailures', 'no'),
            ('LogLevel', 'info'),
            ('Syslog', 'no'),
            # the DMARC history, on by default, in the work directory (the
            # default /var/lib/authmilter is the package's, absent here)
            ('HistoryDB', os.path.join(workdir, 'history.db')),
        ] + list(extra)
        with open(self.conf, 'w') as f:
            for k, v in settings:
                f.write('%s %s\n' % (k, v))
        self.proc = None

    def start(self, timeout=10):
        log = open(self.logfile, 'ab')
        self.proc = subprocess.Popen([self.binary, '-f', '-c', self.conf],
                                     stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                socket.create_connection(('127.0.0.1', self.port),
                                         0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('authmilter did not start:\n' + self.log())

    def send(self, message, **kw):
        if self.proc.poll() is not None:
            raise RuntimeError('authmilter exited (%s):\n%s' %
                               (self.proc.returncode, self.log()[-2000:]))
        return run_transaction(self.spec, message, **kw)

    def log(self):
        try:
            with open(self.logfile, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def history_errors(self):
        """the log's history error lines (the store could not be used)"""
        return [ln for ln in self.log().splitlines() if 'err: history' in ln]

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)"""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def our_ar(res):
    """the A-R value the filter added, or None"""
    for op in res.ops:
        if op.kind in ('add', 'insert') and \
                op.name.lower() == 'authentication-results':
            return op.value
    return None


def ar_results(value):
    """[(method, result, {ptype.name: value})] of an A-R value"""
    h = authres.AuthenticationResultsHeader.parse(
        'Authentication-Results: ' + value)
    if h.authserv_id.lower() != AUTHSERV_ID:
        raise ValueError('authserv-id %r' % h.authserv_id)
    out = []
    for r in h.results:
        props = {'%s.%s' % (p.type, p.name): p.value for p in r.properties}
        out.append((r.method, r.result, props))
    return out
