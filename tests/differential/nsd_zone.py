#!/usr/bin/python3
"""nsd_zone.py - one nsd on a loopback port serving a generated corpus as a
root zone, for the DMARC comparisons of the differential tier
(walk_diff.py, dmarc_diff.py): every name a case asks about gets an
authoritative answer from a real DNS server, NXDOMAIN and NODATA included.

records: {owner: [(type, rdata), ...]}, owner without the final dot; TXT
rdata unquoted (split in character-strings now and then), other types as
zone-file text.  start_nsd(workdir, [records, ...]) -> (process, port).
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from loopnsd import NSD_CONF, free_port  # noqa: E402

def zone_text(sets):
    lines = ['$ORIGIN .', '$TTL 300',
             '. IN SOA ns.nic. hostmaster.nic. 1 3600 600 86400 60',
             '. IN NS ns.nic.', 'ns.nic. IN A 127.0.0.1']
    for records in sets:
        for name, rrs in records.items():
            for rtype, rdata in rrs:
                if rtype == 'TXT' and len(rdata) > 12 and \
                        sum(map(ord, name + rdata)) % 5 == 0:
                    # one record in two character-strings (RFC 9989 4.7)
                    cut = len(rdata) // 2
                    rdata = '"%s" "%s"' % (rdata[:cut], rdata[cut:])
                elif rtype == 'TXT':
                    rdata = '"%s"' % rdata
                lines.append('%s. IN %s %s' % (name, rtype, rdata))
    return '\n'.join(lines) + '\n'


def answers(port):
    """does nsd answer an SOA query for the root?"""
    q = struct.pack('>HHHHHH', 0x1234, 0, 1, 0, 0, 0) + b'\0' + \
        struct.pack('>HH', 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(q, ('127.0.0.1', port))
            return s.recv(512)[:2] == b'\x12\x34'
        except OSError:
            return False


def start_nsd(work, sets):
    d = os.path.join(work, 'nsd')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'root.zone'), 'w') as f:
        f.write(zone_text(sets))
    for _ in range(3):
        port = free_port()
        with open(os.path.join(d, 'nsd.conf'), 'w') as f:
            f.write(NSD_CONF % {'dir': d, 'port': port})
        log = open(os.path.join(d, 'nsd.out'), 'ab')
        proc = subprocess.Popen(['/usr/sbin/nsd', '-c',
                                 os.path.join(d, 'nsd.conf'), '-d'],
                                stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        log.close()
        for _ in range(200):
            if proc.poll() is not None or answers(port):
                break
            time.sleep(0.05)
        if proc.poll() is None and answers(port):
            return proc, port
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    for f in ('nsd.out', 'nsd.log'):
        p = os.path.join(d, f)
        if os.path.exists(p):
            sys.stderr.write(open(p).read())
    raise RuntimeError('nsd did not start')


def stop_nsd(proc):
    """SIGTERM by PID, then wait (kill if it lingers)"""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
