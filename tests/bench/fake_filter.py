#!/usr/bin/python3
"""tests/bench/fake_filter.py SOCKET DMARC - a milter filter for bench/mload.

Speaks the MTA-facing half of the milter protocol (version 6) on a unix
socket: offers no NR/NO flags (mload then waits for a reply to every step),
answers each step with 'c' and the end of the message with an
Authentication-Results header (spf=pass, dkim=pass, dmarc=DMARC) and 'a'.
How the replies are written varies by connection, so that mload's reply
reader (poll, then read into a buffer) meets every split: connection 0, 3,
... one write per reply packet; 1, 4, ... the end-of-message's two packets
in one write; 2, 5, ... one byte per write, with pauses.
"""
import os
import socket
import struct
import sys
import threading
import time

AR = ('fake.example; spf=pass smtp.mailfrom=a@example.org; '
      'dkim=pass header.d=example.org; dmarc=%s header.from=example.org')


def packet(cmd, data=b''):
    return struct.pack('>I', len(data) + 1) + cmd + data


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def send(s, data, mode):
    if mode != 2:
        s.sendall(data)
        return
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        if i % 7 == 0:
            time.sleep(0.0005)


def serve(s, mode, dmarc):
    with s:
        while True:
            head = recv_exact(s, 4)
            if head is None:
                return
            body = recv_exact(s, struct.unpack('>I', head)[0])
            if body is None:
                return
            cmd = body[:1]
            if cmd == b'O':
                send(s, packet(b'O', struct.pack('>III', 6, 0x01, 0)), mode)
            elif cmd == b'E':
                hdr = packet(b'h', b'Authentication-Results\0' +
                             (AR % dmarc).encode() + b'\0')
                if mode == 1:
                    send(s, hdr + packet(b'a'), mode)
                else:
                    send(s, hdr, mode)
                    send(s, packet(b'a'), mode)
            elif cmd == b'Q':
                return
            elif cmd not in (b'D', b'A'):
                send(s, packet(b'c'), mode)


def main():
    path, dmarc = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(64)
    n = 0
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s, n % 3, dmarc),
                         daemon=True).start()
        n += 1


if __name__ == '__main__':
    main()
