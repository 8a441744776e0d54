"""milterproxy - a recording relay between an MTA and a milter.

    p = MilterProxy(milter_port)      # listens on 127.0.0.1:p.port
    ... the MTA talks to p.port ...
    p.sessions    # per MTA connection: [(direction, cmd byte, data)]

Every byte is passed on unchanged, both ways, as it arrives; on the side
the packets are cut at their 4-byte length and recorded ('>' MTA to
milter, '<' milter to MTA), so a test can read what the MTA offered in
SMFIC_OPTNEG and what the engine answered (issue 12, item 3)."""

import socket
import struct
import threading


class _Framer:
    """cuts a byte stream into (cmd, data) packets"""

    def __init__(self, direction, out):
        self.buf = b""
        self.direction = direction
        self.out = out

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 4:
            (n,) = struct.unpack("!I", self.buf[:4])
            if len(self.buf) < 4 + n or n < 1:
                return
            pkt = self.buf[4:4 + n]
            self.buf = self.buf[4 + n:]
            self.out.append((self.direction, pkt[:1], pkt[1:]))


class MilterProxy:
    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.sessions = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                mta, _ = self.lsock.accept()
            except OSError:
                return
            try:
                milter = socket.create_connection(self.target, timeout=10)
                milter.settimeout(None)
            except OSError:
                mta.close()
                continue
            log = []
            with self.lock:
                self.sessions.append(log)
            for a, b, d in ((mta, milter, ">"), (milter, mta, "<")):
                threading.Thread(target=self._pump,
                                 args=(a, b, _Framer(d, log)),
                                 daemon=True).start()

    @staticmethod
    def _pump(src, dst, framer):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                framer.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def optnegs(self):
        """[(offer (version, actions, steps), reply (version, actions,
        steps) or None)] of every session so far"""
        out = []
        with self.lock:
            sessions = [list(s) for s in self.sessions]
        for log in sessions:
            offer = reply = None
            for d, cmd, data in log:
                if cmd == b"O" and len(data) >= 12:
                    v = struct.unpack("!III", data[:12])
                    if d == ">" and offer is None:
                        offer = v
                    elif d == "<" and reply is None:
                        reply = v
            if offer:
                out.append((offer, reply))
        return out

    def close(self):
        self.closed = True
        try:
            self.lsock.close()
        except OSError:
            pass
