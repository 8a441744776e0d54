"""A tiny DNS proxy for fault tests: sits between authmilter's resolver
and the test nsd on loopback, passes every query through unchanged, except
for names given a fault:

  "servfail"  answer SERVFAIL
  "drop"      never answer (a time-out for that name only)
  "tc"        over UDP answer with TC=1 and no records, so the resolver
              must retry over TCP, where the real answer is relayed
  ("slow", s) relay the real answer after s seconds (UDP and TCP)

A key "*.name" applies to every name below name.

Every query is in .seen; a question asked again while the first is still
unanswered after RETRANSMIT_AFTER seconds (the resolver's own retry: its
first time-out, which a slow answer on a loaded machine can pass) is also
in .retransmits, so that a test counting look-ups can tell the two apart.

UDP and TCP on the same loopback port; one thread each, plus one thread
per slow answer.  Uses dnspython (python3-dnspython) to read queries.
"""

import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.rcode

from conftest import free_port

# libunbound's first time-out for a server it has no RTT for is 376 ms; a
# second question sooner than this is the daemon's, not the resolver's
RETRANSMIT_AFTER = 0.3


class FaultDNS:
    def __init__(self, upstream_port, faults=None):
        self.upstream = ("127.0.0.1", upstream_port)
        self.faults = {k.lower().rstrip("."): v
                       for k, v in (faults or {}).items()}
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.seen = []          # (transport, name, fault) of every query
        self.retransmits = []   # the same, of the resolver's own retries
        self._lock = threading.Lock()
        self._pending = {}      # (transport, name, type): first asked at
        self._stop = False
        self.threads = [threading.Thread(target=self._udp_loop, daemon=True),
                        threading.Thread(target=self._tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    @property
    def spec(self):
        return "127.0.0.1@%d" % self.port

    def fault(self, wire):
        try:
            q = dns.message.from_wire(wire)
            name = q.question[0].name.to_text().lower().rstrip(".")
        except Exception:
            return None, None, None
        f = self.faults.get(name)
        labels = name.split(".")
        for i in range(1, len(labels)):
            if f is not None:
                break
            f = self.faults.get("*." + ".".join(labels[i:]))
        return q, name, f

    def _relay_udp(self, wire):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        try:
            s.sendto(wire, self.upstream)
            return s.recv(65535)
        except OSError:
            return None
        finally:
            s.close()

    def _relay_tcp(self, wire):
        try:
            with socket.create_connection(self.upstream, timeout=3) as s:
                s.sendall(struct.pack("!H", len(wire)) + wire)
                n = struct.unpack("!H", _recv_all(s, 2))[0]
                return _recv_all(s, n)
        except (OSError, struct.error):
            return None

    def _answer(self, wire, transport):
        q, name, f = self.fault(wire)
        self.seen.append((transport, name, f))
        if q is None:
            return None
        key = (transport, name, q.question[0].rdtype)
        now = time.monotonic()
        with self._lock:
            first = self._pending.setdefault(key, now)
            if first != now and now - first >= RETRANSMIT_AFTER:
                self.retransmits.append((transport, name, f))
        try:
            return self._answer_as_told(q, wire, transport, f)
        finally:
            with self._lock:
                if self._pending.get(key) == now:
                    del self._pending[key]

    def _answer_as_told(self, q, wire, transport, f):
        if f == "drop":
            return None
        if f == "servfail":
            r = dns.message.make_response(q)
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        if f == "tc" and transport == "udp":
            r = dns.message.make_response(q)
            r.flags |= dns.flags.TC | dns.flags.AA
            return r.to_wire()
        if isinstance(f, tuple) and f[0] == "slow":
            time.sleep(f[1])
        return self._relay_udp(wire) if transport == "udp" \
            else self._relay_tcp(wire)

    def _udp_loop(self):
        self.udp.settimeout(0.2)
        while not self._stop:
            try:
                wire, addr = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._udp_one, args=(wire, addr),
                             daemon=True).start()

    def _udp_one(self, wire, addr):
        out = self._answer(wire, "udp")
        if out is not None:
            try:
                self.udp.sendto(out, addr)
            except OSError:
                pass

    def _tcp_loop(self):
        self.tcp.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._tcp_one, args=(conn,),
                             daemon=True).start()

    def _tcp_one(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                while True:
                    n = struct.unpack("!H", _recv_all(conn, 2))[0]
                    out = self._answer(_recv_all(conn, n), "tcp")
                    if out is None:
                        return
                    conn.sendall(struct.pack("!H", len(out)) + out)
            except (OSError, struct.error):
                return

    def close(self):
        self._stop = True
        for t in self.threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()


def _recv_all(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("short read")
        buf += chunk
    return buf
