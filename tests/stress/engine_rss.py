#!/usr/bin/python3
"""engine_rss.py - memory a milter connection can pin (issue 15, defect 3);
a measurement for the record, not a test (RSS numbers vary by allocator).

    tests/stress/engine_rss.py build/milter/authmilter [connections]

Starts the daemon on a loopback port (no DNS needed), opens N connections
(default 50) that each send OPTNEG, a macro packet of almost 1 MiB for each
of the 8 stages, and all but the last byte of a 1 MiB header packet, then
prints the daemon's VmRSS before and after, and how many connections the
daemon kept open."""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from procstat import vmrss_kb  # noqa: E402

SMFIF_ALL = 0x1ff
SMFIP_ALL = 0x1fffff


def pkt(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    port = free_port()
    d = tempfile.mkdtemp(prefix="engine-rss-")
    conf = os.path.join(d, "authmilter.conf")
    with open(conf, "w") as f:
        f.write("Socket inet:%d@127.0.0.1\nAuthservID mx.example\n"
                "Nameservers 127.0.0.1@%d\nLogLevel warning\nSyslog no\n"
                % (port, free_port()))
    log = open(os.path.join(d, "log"), "wb")
    p = subprocess.Popen([binary, "-f", "-c", conf], stdout=log,
                         stderr=log, stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        before = vmrss_kb(p.pid)
        optneg = pkt(b"O", struct.pack("!III", 6, SMFIF_ALL, SMFIP_ALL))
        macros = b"".join(pkt(b"D", st + b"{pad}\0" + b"x" * (1024 * 1024 - 9)
                              + b"\0") for st in (b"C", b"H", b"M", b"R",
                                                  b"T", b"N", b"L", b"E"))
        big = pkt(b"L", b"X-Big\0" + b"x" * (1024 * 1024 - 7) + b"\0")[:-1]
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), 10)
            try:
                s.sendall(optneg + macros + big)
            except OSError:
                pass
            socks.append(s)
        time.sleep(2)
        after = vmrss_kb(p.pid)
        kept = 0
        for s in socks:
            s.setblocking(False)
            closed = False
            while True:
                try:
                    part = s.recv(1 << 20)
                except BlockingIOError:
                    break
                except OSError:
                    closed = True
                    break
                if not part:
                    closed = True
                    break
            kept += not closed
        print("%s: %d connections: VmRSS %d kB before, %d kB after "
              "(+%.1f MiB, %.2f MiB per connection); %d kept open"
              % (os.path.basename(binary), n, before, after,
                 (after - before) / 1024.0, (after - before) / 1024.0 / n,
                 kept))
        for s in socks:
            s.close()
    finally:
        p.terminate()
        p.wait(15)


if __name__ == "__main__":
    main()
